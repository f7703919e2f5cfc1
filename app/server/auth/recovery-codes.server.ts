// Recovery codes of a portal account (SECURITY.md: 10 codes of at least 80 bits, HMAC-SHA256 under a
// server secret, single use). Shown once at enrolment; D1 holds only the HMACs, so a database leak
// yields no usable code, and the HMAC key (unlike a plain hash) stops offline guessing from that leak.
// Each hash records the id of the key that made it (`k2:<hex>`, docs/decisions/017). A code cannot be
// re-hashed under a new key without the code itself, so a code is checked with the key it was made with
// and a retired key stays configured until no unused code needs it (`npm run keys:reencrypt` counts them).
import { and, eq, isNull } from "drizzle-orm";
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { recoveryCodes } from "../../../db/schema";
import { constantTimeEqual, generateId, hmacSha256Hex, randomBytes } from "../crypto.server";
import type { Database, Statement } from "../db.server";
import { RECOVERY_KEY_NAMES, keyForStored, recoveryKeyring, splitKeyId, withKeyId, type RecoveryKeys } from "../keyring.server";

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

async function codeHash(key: Uint8Array<ArrayBuffer>, portalAccountId: string, code: string): Promise<string> {
  // The account id is part of the MAC input, so a hash row copied to another account matches nothing.
  return hmacSha256Hex(key, `recovery:${portalAccountId}:${code}`);
}

/**
 * Statements that replace every recovery code of the account by `codes` (from generateRecoveryCodes).
 * Run them in the caller's batch, e.g. with the enrolment's own writes.
 */
export async function replaceRecoveryCodes(
  db: Database,
  keys: RecoveryKeys,
  portalAccountId: string,
  codes: string[],
  now = Date.now(),
): Promise<Statement[]> {
  const { current } = recoveryKeyring(keys);
  const rows = await Promise.all(
    codes.map(async (shown) => {
      const code = normalizeRecoveryCode(shown);
      if (!code) throw new Error("replaceRecoveryCodes: not a recovery code");
      const hash = withKeyId(current.id, await codeHash(current.key, portalAccountId, code));
      return { id: generateId(), portalAccountId, codeHash: hash, createdAt: now };
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
  keys: RecoveryKeys,
  portalAccountId: string,
  input: string,
  now = Date.now(),
): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  if (!code) return false;
  const keyring = recoveryKeyring(keys);
  const unused = await db
    .select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.portalAccountId, portalAccountId), isNull(recoveryCodes.usedAt)));
  // The input's HMAC under each key the account's codes were made with (one, except during a rotation).
  // A code whose key is not configured any more can never match: unusable, like a wrong code, and logged.
  const hashes = new Map<string, string | null>();
  for (const row of unused) {
    const { id } = splitKeyId(row.codeHash);
    if (hashes.has(id)) continue;
    const key = keyForStored(keyring, RECOVERY_KEY_NAMES, id, `recovery codes of ${portalAccountId}`);
    hashes.set(id, key ? await codeHash(key, portalAccountId, code) : null);
  }
  let matchId: string | null = null;
  // Every stored code is compared, in constant time, without stopping at the match.
  for (const row of unused) {
    const { id, value } = splitKeyId(row.codeHash);
    const hash = hashes.get(id);
    if (hash && constantTimeEqual(value, hash)) matchId = row.id;
  }
  if (!matchId) return false;
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.id, matchId), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
  return used.length === 1;
}
