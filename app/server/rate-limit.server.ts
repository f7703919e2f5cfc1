// Window counters in D1. Never in memory (requests land on many isolates) and never in KV
// (eventually consistent, one write per key per second). Each window is a row; a limit is checked against
// a sliding estimate over the current and the previous window, so the limit holds across a window's edge
// (with fixed windows alone, N failures just before the edge and N just after would all be let through).
import { and, eq, lt, or, sql } from "drizzle-orm";
import { rateLimits } from "../../db/schema";
import { runBatch, type Database } from "./db.server";

export type RateLimit = { name: string; limit: number; windowMs: number };

export const LIMITS = {
  // SECURITY.md: email-sending endpoints, 3 per 10 minutes per address and per IP.
  emailPerAddress: { name: "email:addr", limit: 3, windowMs: 10 * 60_000 },
  emailPerIp: { name: "email:ip", limit: 3, windowMs: 10 * 60_000 },
  // The public API, per key: generous for an integration's sync, bounded for a runaway loop.
  apiPerKey: { name: "api:key", limit: 600, windowMs: 60_000 },
} satisfies Record<string, RateLimit>;

/**
 * SECURITY.md: failed password sign-ins, throttled per account-and-IP and per IP, with a higher
 * per-account ceiling. The numbers and why: docs/decisions/007-password-sign-in-throttling.md.
 * Staff sign-in, staff re-authentication and client sign-in all count here.
 */
export const PASSWORD_THROTTLE = {
  perAccountAndIp: { name: "pw:acct-ip", limit: 10, windowMs: 15 * 60_000 },
  perIp: { name: "pw:ip", limit: 50, windowMs: 15 * 60_000 },
  perAccount: { name: "pw:acct", limit: 100, windowMs: 60 * 60_000 },
} satisfies Record<string, RateLimit>;

function keyOf(rule: RateLimit, subject: string): string {
  return `${rule.name}:${subject.toLowerCase()}`;
}

function windowStart(rule: RateLimit, now: number): number {
  return Math.floor(now / rule.windowMs) * rule.windowMs;
}

/**
 * The events of the last `windowMs`, estimated from two window rows: all of the current window's, and the
 * previous window's weighted by how much of it still lies inside the sliding window (Cloudflare's own
 * rate-limiting estimate). Right after an edge that is nearly all of the previous window's.
 */
export function slidingCount(rule: RateLimit, now: number, current: number, previous: number): number {
  const elapsed = (now - windowStart(rule, now)) / rule.windowMs;
  // Rounded up: the events just before the edge still count whole right after it.
  return current + Math.ceil(previous * (1 - elapsed));
}

/** Counts one event; true while the count stays within the limit. */
export async function consume(db: Database, rule: RateLimit, subject: string, now = Date.now()): Promise<boolean> {
  const key = keyOf(rule, subject);
  const start = windowStart(rule, now);
  // One round trip: count this event, and read the previous window for the sliding estimate.
  const [[row], [previous]] = await db.batch([
    db
      .insert(rateLimits)
      .values({ key, windowStart: start, count: 1 })
      .onConflictDoUpdate({ target: [rateLimits.key, rateLimits.windowStart], set: { count: sql`${rateLimits.count} + 1` } })
      .returning({ count: rateLimits.count }),
    db
      .select({ count: rateLimits.count })
      .from(rateLimits)
      .where(and(eq(rateLimits.key, key), eq(rateLimits.windowStart, start - rule.windowMs))),
  ]);
  return slidingCount(rule, now, row.count, previous?.count ?? 0) <= rule.limit;
}

/** True when the limit is already used up, without counting. */
export async function isExhausted(db: Database, rule: RateLimit, subject: string, now = Date.now()): Promise<boolean> {
  const key = keyOf(rule, subject);
  const start = windowStart(rule, now);
  const rows = await db
    .select({ windowStart: rateLimits.windowStart, count: rateLimits.count })
    .from(rateLimits)
    .where(and(eq(rateLimits.key, key), or(eq(rateLimits.windowStart, start), eq(rateLimits.windowStart, start - rule.windowMs))));
  const count = (at: number) => rows.find((r) => r.windowStart === at)?.count ?? 0;
  return slidingCount(rule, now, count(start), count(start - rule.windowMs)) >= rule.limit;
}

/**
 * The subject an IP is counted under. An IPv6 host usually holds a whole /64 (privacy addresses rotate
 * inside it, and any host can pick from 2^64 of them), so IPv6 counts per /64; IPv4 per address.
 */
export function ipSubject(ip: string): string {
  const value = ip.trim().toLowerCase();
  if (!value.includes(":")) return value;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
  if (mapped) return mapped[1];
  const halves = value.split("::");
  if (halves.length > 2) return value;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail] : head;
  const prefix = groups.slice(0, 4).map((group) => Number.parseInt(group, 16));
  if (prefix.length < 4 || prefix.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffff)) return value;
  return `${prefix.map((n) => n.toString(16)).join(":")}::/64`;
}

/** One password attempt: the account (prefixed by kind, e.g. `staff:<email>`) and the client's IP. */
export type PasswordAttempt = { account: string; ip: string };

/**
 * Where a password attempt stands: "open"; "throttled" when this IP used up its budget for this
 * account or overall; "account_ceiling" when failures from everywhere reached the account's ceiling.
 * At the ceiling the caller still lets in a place the account has signed in from before
 * (samePlace), so a distributed attacker cannot shut the owner out from their usual network.
 */
export type PasswordThrottleState = "open" | "throttled" | "account_ceiling";

function passwordKeys(attempt: PasswordAttempt, now: number) {
  const ip = ipSubject(attempt.ip);
  const { perAccountAndIp, perIp, perAccount } = PASSWORD_THROTTLE;
  return [
    { rule: perAccountAndIp, key: keyOf(perAccountAndIp, `${attempt.account}|${ip}`), windowStart: windowStart(perAccountAndIp, now) },
    { rule: perIp, key: keyOf(perIp, ip), windowStart: windowStart(perIp, now) },
    { rule: perAccount, key: keyOf(perAccount, attempt.account), windowStart: windowStart(perAccount, now) },
  ];
}

/** Reads the three counters (this window and the one before) in one query; counts nothing. */
export async function passwordThrottleState(db: Database, attempt: PasswordAttempt, now = Date.now()): Promise<PasswordThrottleState> {
  const keys = passwordKeys(attempt, now);
  const rows = await db
    .select({ key: rateLimits.key, windowStart: rateLimits.windowStart, count: rateLimits.count })
    .from(rateLimits)
    .where(
      or(
        ...keys.map((k) =>
          and(eq(rateLimits.key, k.key), or(eq(rateLimits.windowStart, k.windowStart), eq(rateLimits.windowStart, k.windowStart - k.rule.windowMs))),
        ),
      ),
    );
  const count = (key: string, at: number) => rows.find((row) => row.key === key && row.windowStart === at)?.count ?? 0;
  const used = (i: number) => {
    const { rule, key, windowStart: start } = keys[i];
    return slidingCount(rule, now, count(key, start), count(key, start - rule.windowMs)) >= rule.limit;
  };
  if (used(0) || used(1)) return "throttled";
  if (used(2)) return "account_ceiling";
  return "open";
}

/** Counts one failed password: all three counters in one batch, each an atomic upsert. */
export async function countPasswordFailure(db: Database, attempt: PasswordAttempt, now = Date.now()): Promise<void> {
  await runBatch(
    db,
    passwordKeys(attempt, now).map(({ key, windowStart }) =>
      db
        .insert(rateLimits)
        .values({ key, windowStart, count: 1 })
        .onConflictDoUpdate({ target: [rateLimits.key, rateLimits.windowStart], set: { count: sql`${rateLimits.count} + 1` } }),
    ),
  );
}

/** True when `ip` is in the same place (address, or IPv6 /64) as one of `knownIps`. */
export function samePlace(knownIps: Array<string | null>, ip: string): boolean {
  const subject = ipSubject(ip);
  return knownIps.some((known) => known !== null && ipSubject(known) === subject);
}

/** How far back a completed sign-in makes its IP "a place the account signs in from". */
export const KNOWN_PLACE_MS = 90 * 24 * 60 * 60_000;

export function pruneRateLimits(db: Database, now = Date.now()) {
  return db.delete(rateLimits).where(lt(rateLimits.windowStart, now - 24 * 60 * 60_000));
}

/**
 * `consume` for many subjects in one round trip (a bulk send), with the same sliding estimate: the
 * subjects travel as one JSON parameter, so a chunk of any size stays within D1's 100 bound parameters.
 * Returns the subjects still within the limit.
 */
export async function consumeMany(db: Database, rule: RateLimit, subjects: string[], now = Date.now()): Promise<Set<string>> {
  if (subjects.length === 0) return new Set();
  const keys = [...new Set(subjects.map((subject) => keyOf(rule, subject)))];
  const start = windowStart(rule, now);
  // SQLite needs the WHERE in INSERT … SELECT … ON CONFLICT to tell the upsert from a join. Each key's
  // previous window comes back with its new count, in the same statement.
  const rows = await db.all<{ key: string; count: number; previous: number | null }>(sql`INSERT INTO ${rateLimits} ("key", "window_start", "count")
    SELECT value, ${start}, 1 FROM json_each(${JSON.stringify(keys)}) WHERE true
    ON CONFLICT ("key", "window_start") DO UPDATE SET "count" = "count" + 1
    RETURNING "key", "count", (SELECT "p"."count" FROM ${rateLimits} AS "p"
      WHERE "p"."key" = ${rateLimits}."key" AND "p"."window_start" = ${start - rule.windowMs}) AS "previous"`);
  const allowed = new Set(rows.filter((r) => slidingCount(rule, now, r.count, r.previous ?? 0) <= rule.limit).map((r) => r.key));
  return new Set(subjects.filter((subject) => allowed.has(keyOf(rule, subject))));
}

/** Milliseconds until the current window of `rule` ends (for Retry-After). */
export function windowRemainingMs(rule: RateLimit, now = Date.now()): number {
  return windowStart(rule, now) + rule.windowMs - now;
}
