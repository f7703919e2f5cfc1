// The password throttle and the other limits hold across a window's edge (found by a CI run whose ten
// failures straddled 23:45:00: the eleventh attempt from the attacker's IP was let through).
import { describe, expect, it } from "vitest";
import { consume, consumeMany, countPasswordFailure, isExhausted, LIMITS, PASSWORD_THROTTLE, passwordThrottleState, slidingCount } from "../../app/server/rate-limit.server";
import { db, uid } from "../support/factories";

const WINDOW = PASSWORD_THROTTLE.perAccountAndIp.windowMs;
/** A moment a little before a window's edge, far from today's windows so tests do not meet real counts. */
const EDGE = Math.floor(Date.UTC(2031, 0, 1) / WINDOW) * WINDOW;

describe("limits across a window's edge", () => {
  it("failures just before the edge still throttle the attempt just after it (rule: 10 per account and IP)", async () => {
    const attempt = { account: `client:${uid()}`, ip: "198.51.100.44" };
    for (let i = 0; i < PASSWORD_THROTTLE.perAccountAndIp.limit; i++) await countPasswordFailure(db, attempt, EDGE - 2_000 + i);
    expect(await passwordThrottleState(db, attempt, EDGE - 1_000)).toBe("throttled");
    for (const after of [1, 1_000, 60_000]) expect(await passwordThrottleState(db, attempt, EDGE + after), `${after} ms after the edge`).toBe("throttled");
    // They age out as the sliding window passes them: a whole window later the IP may try again.
    expect(await passwordThrottleState(db, attempt, EDGE + WINDOW - 1)).toBe("open");
  });

  it("consume and isExhausted (email and API limits) count the previous window too", async () => {
    const rule = LIMITS.emailPerAddress;
    const edge = Math.floor(Date.UTC(2031, 0, 1) / rule.windowMs) * rule.windowMs;
    const subject = `edge-${uid()}@example.test`;
    for (let i = 0; i < rule.limit; i++) expect(await consume(db, rule, subject, edge - 500 + i)).toBe(true);
    expect(await consume(db, rule, subject, edge + 10)).toBe(false);
    expect(await isExhausted(db, rule, subject, edge + 20)).toBe(true);
  });

  it("consumeMany (bulk invites, heads-up emails) counts the previous window too, per address, and shares counts with consume", async () => {
    const rule = LIMITS.emailPerAddress;
    const edge = Math.floor(Date.UTC(2031, 0, 1) / rule.windowMs) * rule.windowMs;
    const full = `full-${uid()}@example.test`;
    const fresh = `fresh-${uid()}@example.test`;
    const single = `single-${uid()}@example.test`;
    // Three sends to `full` just before the edge, one of them through consume (a single send).
    for (let i = 0; i < rule.limit - 1; i++) expect(await consumeMany(db, rule, [full], edge - 500 + i)).toEqual(new Set([full]));
    expect(await consume(db, rule, full, edge - 400)).toBe(true);
    expect(await consume(db, rule, single, edge - 400)).toBe(true);
    // Just after the edge: `full` is refused (its three still count), the others go, in any case of the address.
    const after = await consumeMany(db, rule, [full, fresh, single.toUpperCase()], edge + 10);
    expect(after).toEqual(new Set([fresh, single.toUpperCase()]));
    // A whole window later the earlier sends have aged out.
    expect(await consumeMany(db, rule, [full], edge + rule.windowMs - 1)).toEqual(new Set([full]));
  });

  it("the estimate weighs the previous window by what still lies inside the sliding window", () => {
    const rule = { name: "t", limit: 10, windowMs: 1000 };
    expect(slidingCount(rule, 5000, 0, 10)).toBe(10);
    expect(slidingCount(rule, 5500, 2, 10)).toBe(7);
    expect(slidingCount(rule, 5999, 0, 10)).toBe(1);
  });
});
