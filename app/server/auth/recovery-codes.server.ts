// Recovery codes of a portal account (SECURITY.md: 10 codes of at least 80 bits, HMAC-SHA256 under a
// server secret, single use). Shown once at enrolment; D1 holds only the HMACs, so a database leak
// yields no usable code, and the HMAC key (unlike a plain hash) stops offline guessing from that leak.
import { and, eq, isNull } from "drizzle-orm";
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { recoveryCodes } from "../../../db/schema";
import { constantTimeEqual, generateId, hmacSha256Hex, randomBytes } from "../crypto.server";
import type { Database, Statement } from "../db.server";

export const RECOVERY_CODE_COUNT = 10;
/** 10 random bytes = 80 bits = 16 base32 characters. */
const RECOVERY_CODE_BYTES = 10;
const CODE_PATTERN = /^[A-Z2-7]{16}$/;

/** Codes as shown to the client: lower case, in groups of four (`abcd-efgh-ijkl-mnop`). */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () =>
    encodeBase32UpperCaseNoPadding(randomBytes(RECOVERY_CODE_BYTES))
      .toLowerCase()
      .replace(/(.{4})(?=.)/g, "$1-"),
  );
}

/** The canonical form that is hashed: spaces and hyphens dropped, upper case. Null when it cannot be a code. */
export function normalizeRecoveryCode(input: string): string | null {
  if (input.length > 64) return null;
  const code = input.replace(/[\s-]+/g, "").toUpperCase();
  return CODE_PATTERN.test(code) ? code : null;
}

async function codeHash(key: string, portalAccountId: string, code: string): Promise<string> {
  // The account id is part of the MAC input, so a hash row copied to another account matches nothing.
  return hmacSha256Hex(key, `recovery:${portalAccountId}:${code}`);
}

/**
 * Statements that replace every recovery code of the account by `codes` (from generateRecoveryCodes).
 * Run them in the caller's batch, e.g. with the enrolment's own writes.
 */
export async function replaceRecoveryCodes(
  db: Database,
  key: string,
  portalAccountId: string,
  codes: string[],
  now = Date.now(),
): Promise<Statement[]> {
  const rows = await Promise.all(
    codes.map(async (shown) => {
      const code = normalizeRecoveryCode(shown);
      if (!code) throw new Error("replaceRecoveryCodes: not a recovery code");
      return { id: generateId(), portalAccountId, codeHash: await codeHash(key, portalAccountId, code), createdAt: now };
    }),
  );
  const statements: Statement[] = [db.delete(recoveryCodes).where(eq(recoveryCodes.portalAccountId, portalAccountId))];
  if (rows.length) statements.push(db.insert(recoveryCodes).values(rows));
  return statements;
}

/** Statement that removes every recovery code of the account (2FA turned off or reset). */
export function deleteRecoveryCodes(db: Database, portalAccountId: string): Statement {
  return db.delete(recoveryCodes).where(eq(recoveryCodes.portalAccountId, portalAccountId));
}

/**
 * Uses up one recovery code. True only for the one request that marks an unused matching code as used:
 * the UPDATE's `used_at IS NULL` condition makes two concurrent uses of a code end with one success.
 * Lockout and the consequences of a recovery (2FA off, sessions ended, email) belong to the caller;
 * see verifyRecoveryAttempt in second-factor.server.ts.
 */
export async function consumeRecoveryCode(
  db: Database,
  key: string,
  portalAccountId: string,
  input: string,
  now = Date.now(),
): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  if (!code) return false;
  const hash = await codeHash(key, portalAccountId, code);
  const unused = await db
    .select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.portalAccountId, portalAccountId), isNull(recoveryCodes.usedAt)));
  let matchId: string | null = null;
  // Every stored code is compared, in constant time, without stopping at the match.
  for (const row of unused) {
    if (constantTimeEqual(row.codeHash, hash)) matchId = row.id;
  }
  if (!matchId) return false;
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.id, matchId), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
  return used.length === 1;
}
