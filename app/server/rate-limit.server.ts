// Fixed-window counters in D1. Never in memory (requests land on many isolates) and never in KV
// (eventually consistent, one write per key per second).
import { and, eq, lt, sql } from "drizzle-orm";
import { rateLimits } from "../../db/schema";
import type { Database } from "./db.server";

export type RateLimit = { name: string; limit: number; windowMs: number };

export const LIMITS = {
  // SECURITY.md: email-sending endpoints, 3 per 10 minutes per address and per IP.
  emailPerAddress: { name: "email:addr", limit: 3, windowMs: 10 * 60_000 },
  emailPerIp: { name: "email:ip", limit: 3, windowMs: 10 * 60_000 },
  signInPerAccount: { name: "signin:acct", limit: 10, windowMs: 15 * 60_000 },
  signInPerIp: { name: "signin:ip", limit: 50, windowMs: 15 * 60_000 },
  // The public API, per key: generous for an integration's sync, bounded for a runaway loop.
  apiPerKey: { name: "api:key", limit: 600, windowMs: 60_000 },
} satisfies Record<string, RateLimit>;

function windowStart(rule: RateLimit, now: number): number {
  return Math.floor(now / rule.windowMs) * rule.windowMs;
}

/** Counts one event; true while the count stays within the limit. */
export async function consume(db: Database, rule: RateLimit, subject: string, now = Date.now()): Promise<boolean> {
  const key = `${rule.name}:${subject.toLowerCase()}`;
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart: windowStart(rule, now), count: 1 })
    .onConflictDoUpdate({ target: [rateLimits.key, rateLimits.windowStart], set: { count: sql`${rateLimits.count} + 1` } })
    .returning({ count: rateLimits.count });
  return row.count <= rule.limit;
}

/** True when the limit is already used up, without counting. */
export async function isExhausted(db: Database, rule: RateLimit, subject: string, now = Date.now()): Promise<boolean> {
  const key = `${rule.name}:${subject.toLowerCase()}`;
  const row = await db.query.rateLimits.findFirst({
    where: and(eq(rateLimits.key, key), eq(rateLimits.windowStart, windowStart(rule, now))),
  });
  return (row?.count ?? 0) >= rule.limit;
}

export function pruneRateLimits(db: Database, now = Date.now()) {
  return db.delete(rateLimits).where(lt(rateLimits.windowStart, now - 24 * 60 * 60_000));
}

/**
 * `consume` for many subjects in one statement (a bulk send): the subjects travel as one JSON
 * parameter, so a chunk of any size stays within D1's 100 bound parameters. Returns the subjects
 * still within the limit.
 */
export async function consumeMany(db: Database, rule: RateLimit, subjects: string[], now = Date.now()): Promise<Set<string>> {
  if (subjects.length === 0) return new Set();
  const keyOf = (subject: string) => `${rule.name}:${subject.toLowerCase()}`;
  const keys = [...new Set(subjects.map(keyOf))];
  // SQLite needs the WHERE in INSERT … SELECT … ON CONFLICT to tell the upsert from a join.
  const rows = await db.all<{ key: string; count: number }>(sql`INSERT INTO ${rateLimits} ("key", "window_start", "count")
    SELECT value, ${windowStart(rule, now)}, 1 FROM json_each(${JSON.stringify(keys)}) WHERE true
    ON CONFLICT ("key", "window_start") DO UPDATE SET "count" = "count" + 1
    RETURNING "key", "count"`);
  const allowed = new Set(rows.filter((r) => r.count <= rule.limit).map((r) => r.key));
  return new Set(subjects.filter((s) => allowed.has(keyOf(s))));
}

/** Milliseconds until the current window of `rule` ends (for Retry-After). */
export function windowRemainingMs(rule: RateLimit, now = Date.now()): number {
  return windowStart(rule, now) + rule.windowMs - now;
}
