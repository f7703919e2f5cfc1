// Idempotent writes for the public API: a write sent with an `Idempotency-Key` header acts once; a retry
// with the same key and the same request gets the first answer again, for 24 hours. D1 holds the record
// (never KV: eventually consistent, so two retries could both miss it).
//
// The record is claimed before the write runs (INSERT … ON CONFLICT DO NOTHING: exactly one caller wins
// the claim) and completed with the answer afterwards; a retry that arrives while the first call still
// runs is told so (409) instead of running it twice. A call that fails inside (5xx) releases its claim,
// so the client's retry can act.
import { and, eq, lt } from "drizzle-orm";
import { apiIdempotency } from "../../../db/schema";
import type { Database } from "../db.server";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
export const MAX_STORED_BODY = 64 * 1024;

/** Printable ASCII, at most 255 characters: what clients use (UUIDs, hashes, order numbers). */
export function isValidIdempotencyKey(value: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(value);
}

export type IdempotencyScope = { firmId: string; apiKeyId: string; idempotencyKey: string };

export type IdempotencyClaim =
  | { kind: "claimed" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "mismatch" }
  | { kind: "in_progress" };

const rowOf = (scope: IdempotencyScope) => and(eq(apiIdempotency.apiKeyId, scope.apiKeyId), eq(apiIdempotency.idempotencyKey, scope.idempotencyKey));

export async function claimIdempotencyKey(db: Database, scope: IdempotencyScope, requestHash: string, now = Date.now()): Promise<IdempotencyClaim> {
  const [, inserted] = await db.batch([
    // A record older than 24 hours is forgotten: the key may be used again.
    db.delete(apiIdempotency).where(and(rowOf(scope), lt(apiIdempotency.createdAt, now - IDEMPOTENCY_TTL_MS))),
    db
      .insert(apiIdempotency)
      .values({ ...scope, requestHash, createdAt: now })
      .onConflictDoNothing()
      .returning({ key: apiIdempotency.idempotencyKey }),
  ]);
  if (inserted.length === 1) return { kind: "claimed" };
  const existing = await db.query.apiIdempotency.findFirst({ where: rowOf(scope) });
  // Released between the insert and this read: the caller may retry at once.
  if (!existing) return { kind: "in_progress" };
  if (existing.requestHash !== requestHash) return { kind: "mismatch" };
  if (existing.status === null || existing.body === null) return { kind: "in_progress" };
  return { kind: "replay", status: existing.status, body: existing.body };
}

export async function completeIdempotencyKey(db: Database, scope: IdempotencyScope, status: number, body: string): Promise<void> {
  await db.update(apiIdempotency).set({ status, body }).where(rowOf(scope));
}

export async function releaseIdempotencyKey(db: Database, scope: IdempotencyScope): Promise<void> {
  await db.delete(apiIdempotency).where(rowOf(scope));
}

export function pruneIdempotencyKeys(db: Database, now = Date.now()) {
  return db.delete(apiIdempotency).where(lt(apiIdempotency.createdAt, now - IDEMPOTENCY_TTL_MS));
}
