// Portal adoption figures are read from one JSON scalar; whatever D1 hands back, the page gets 12 weeks
// of whole numbers and no negative counts.
import { describe, expect, it } from "vitest";
import { CHART_WEEKS, chartStart, parseAdoption, WEEK_MS } from "~/server/staff/adoption.server";

const NOW = Date.UTC(2026, 2, 10);

describe("parseAdoption", () => {
  it("gives zeros and 12 empty weeks for no data", () => {
    const adoption = parseAdoption(null, NOW);
    expect(adoption).toMatchObject({ contacts: 0, accounts: 0, twoFactor: 0, withoutAccount: 0, mustEnrol: 0 });
    expect(adoption.recent).toEqual({ any: 0, link: 0, password: 0, password_2fa: 0, passkey: 0, other: 0 });
    expect(adoption.weeks).toHaveLength(CHART_WEEKS);
    expect(adoption.weeks[0].start).toBe(chartStart(NOW));
    expect(adoption.weeks[CHART_WEEKS - 1].start).toBe(chartStart(NOW) + (CHART_WEEKS - 1) * WEEK_MS);
  });

  it("derives who must enrol and who has no account, never below zero", () => {
    expect(parseAdoption(JSON.stringify({ contacts: 10, accounts: 6, twoFactor: 2 }), NOW)).toMatchObject({ withoutAccount: 4, mustEnrol: 4 });
    expect(parseAdoption(JSON.stringify({ contacts: 1, accounts: 3, twoFactor: 5 }), NOW)).toMatchObject({ withoutAccount: 0, mustEnrol: 0 });
  });

  it("puts sign-ins in their week, clamps weeks out of range, drops unknown methods and non-numbers", () => {
    const weeks = [
      [0, "link", 2],
      [0.9, "link", 1],
      [11, "password", 3],
      [12, "password", 1],
      [-3, "other", 1],
      [5, "bogus", 9],
      [5, "password_2fa", "7"],
      ["x", "password_2fa", 1],
      [3, "passkey", 2],
    ];
    const adoption = parseAdoption(JSON.stringify({ weeks, recent: { any: 3, link: "2" } }), NOW);
    expect(adoption.weeks[0]).toMatchObject({ link: 3, other: 1, password_2fa: 1 });
    expect(adoption.weeks[11]).toMatchObject({ password: 4 });
    expect(adoption.weeks[3]).toMatchObject({ passkey: 2, other: 0 });
    expect(adoption.weeks[5]).toMatchObject({ link: 0, password: 0, password_2fa: 0, passkey: 0, other: 0 });
    expect(adoption.recent).toEqual({ any: 3, link: 0, password: 0, password_2fa: 0, passkey: 0, other: 0 });
  });
});
