// The second-factor rules shared by staff and clients (SECURITY.md parameters, rules 12, 14, 16, 17):
// each TOTP step accepted once per account, 5 failures in a row lock the factor for 15 minutes
// (counted in D1 per account, whatever the IP), the secret saved only after a valid code.
// Both staff_users and portal_accounts carry the same totp_* columns; `owner.kind` picks the table.
import { and, eq, isNotNull, isNull, lt, lte, or, sql } from "drizzle-orm";
import { portalAccounts, staffUsers } from "../../../db/schema";
import type { Database, Statement } from "../db.server";
import { renderQrSvg } from "../qr-code.server";
import { consumeRecoveryCode } from "./recovery-codes.server";
import type { RecoveryKeys, TotpKeys } from "../keyring.server";
import type { Refusal } from "../result";
import {
  TOTP_LOCK_MS,
  TOTP_MAX_FAILURES,
  decryptTotpSecret,
  encryptTotpSecret,
  formatTotpKey,
  generateTotpSecret,
  matchTotpStep,
  openPendingTotpSecret,
  sealPendingTotpSecret,
  totpKeyUri,
} from "./totp.server";

export type FactorOwner = { kind: "staff" | "portal"; id: string; firmId: string };

/** The two tables have identical totp_* columns; the staff table's type stands for both in the queries. */
function tableOf(owner: FactorOwner): typeof staffUsers {
  return (owner.kind === "staff" ? staffUsers : portalAccounts) as unknown as typeof staffUsers;
}

export type FactorState = {
  secret: string | null;
  enabledAt: number | null;
  lastStep: number | null;
  failures: number;
  lockedUntil: number | null;
};

export async function loadFactorState(db: Database, owner: FactorOwner): Promise<FactorState | null> {
  const t = tableOf(owner);
  const [row] = await db
    .select({
      secret: t.totpSecret,
      enabledAt: t.totpEnabledAt,
      lastStep: t.totpLastStep,
      failures: t.totpFailures,
      lockedUntil: t.totpLockedUntil,
    })
    .from(t)
    .where(and(eq(t.id, owner.id), eq(t.firmId, owner.firmId)))
    .limit(1);
  return row ?? null;
}

export function isFactorLocked(state: Pick<FactorState, "lockedUntil">, now = Date.now()): boolean {
  return state.lockedUntil !== null && state.lockedUntil > now;
}

export type FactorFailure =
  | { ok: false; reason: "invalid"; attemptsLeft: number }
  | { ok: false; reason: "locked"; lockedUntil: number }
  | { ok: false; reason: "not_enrolled" };

/**
 * Counts one failed attempt in one UPDATE, so concurrent attempts from many IPs all count. The fifth
 * failure in a row locks the factor and restarts the count for after the lock. Attempts made while
 * locked change nothing.
 */
export async function recordFactorFailure(db: Database, owner: FactorOwner, now = Date.now()): Promise<FactorFailure> {
  const t = tableOf(owner);
  const lockedUntil = now + TOTP_LOCK_MS;
  // In SQLite, column names on the right of SET read the row as it was before this UPDATE.
  const [row] = await db
    .update(t)
    .set({
      totpFailures: sql`CASE WHEN ${sql.identifier("totp_failures")} + 1 >= ${TOTP_MAX_FAILURES} THEN 0 ELSE ${sql.identifier("totp_failures")} + 1 END`,
      totpLockedUntil: sql`CASE WHEN ${sql.identifier("totp_failures")} + 1 >= ${TOTP_MAX_FAILURES} THEN ${lockedUntil} ELSE ${sql.identifier("totp_locked_until")} END`,
    })
    .where(and(eq(t.id, owner.id), or(isNull(t.totpLockedUntil), lte(t.totpLockedUntil, now))))
    .returning({ failures: t.totpFailures, lockedUntil: t.totpLockedUntil });
  if (!row) {
    const state = await loadFactorState(db, owner);
    if (!state) return { ok: false, reason: "not_enrolled" };
    return { ok: false, reason: "locked", lockedUntil: state.lockedUntil ?? lockedUntil };
  }
  if (row.lockedUntil !== null && row.lockedUntil > now) return { ok: false, reason: "locked", lockedUntil: row.lockedUntil };
  return { ok: false, reason: "invalid", attemptsLeft: TOTP_MAX_FAILURES - row.failures };
}

export type TotpAttemptResult = { ok: true; step: number } | FactorFailure;

/**
 * Checks a 6-digit code against the owner's saved secret. A locked factor refuses every code, the right
 * one included. An accepted code's step is burned in one conditional UPDATE, so two submissions of one
 * code (concurrent, or from two IPs) cannot both pass; the loser counts as a failure.
 */
export async function verifyTotpAttempt(
  db: Database,
  keys: TotpKeys,
  owner: FactorOwner,
  code: string,
  now = Date.now(),
): Promise<TotpAttemptResult> {
  const state = await loadFactorState(db, owner);
  if (!state || state.enabledAt === null || state.secret === null) return { ok: false, reason: "not_enrolled" };
  if (isFactorLocked(state, now)) return { ok: false, reason: "locked", lockedUntil: state.lockedUntil! };
  const secret = await decryptTotpSecret(keys, owner.firmId, owner.id, state.secret);
  const step = secret ? matchTotpStep(secret, code, state.lastStep, now) : null;
  if (step === null) return recordFactorFailure(db, owner, now);
  const t = tableOf(owner);
  const burned = await db
    .update(t)
    .set({ totpLastStep: step, totpFailures: 0, totpLockedUntil: null })
    .where(
      and(
        eq(t.id, owner.id),
        isNotNull(t.totpEnabledAt),
        or(isNull(t.totpLastStep), lt(t.totpLastStep, step)),
        or(isNull(t.totpLockedUntil), lte(t.totpLockedUntil, now)),
      ),
    )
    .returning({ id: t.id });
  if (burned.length !== 1) return recordFactorFailure(db, owner, now);
  return { ok: true, step };
}

export type RecoveryAttemptResult = { ok: true } | FactorFailure;

/**
 * A recovery code attempt for a portal account, under the same lockout as TOTP codes (one counter per
 * account). On success the caller turns 2FA off (disableTotp), ends the other sessions and emails the client.
 */
export async function verifyRecoveryAttempt(
  db: Database,
  recoveryKeys: RecoveryKeys,
  owner: FactorOwner & { kind: "portal" },
  input: string,
  now = Date.now(),
): Promise<RecoveryAttemptResult> {
  const state = await loadFactorState(db, owner);
  if (!state || state.enabledAt === null) return { ok: false, reason: "not_enrolled" };
  if (isFactorLocked(state, now)) return { ok: false, reason: "locked", lockedUntil: state.lockedUntil! };
  if (!(await consumeRecoveryCode(db, recoveryKeys, owner.id, input, now))) return recordFactorFailure(db, owner, now);
  const t = tableOf(owner);
  await db.update(t).set({ totpFailures: 0 }).where(eq(t.id, owner.id));
  return { ok: true };
}

export type PendingEnrolment = {
  /** Sealed secret for a hidden form field; openPendingTotpSecret reads it back on confirmation. */
  pendingToken: string;
  /** The key as people type it into an app, in groups of four. */
  manualKey: string;
  /** An SVG document of the otpauth:// URI, for inline use. */
  qrSvg: string;
  keyUri: string;
};

export type EnrolmentLabels = { issuer: string; accountName: string };

async function enrolmentView(secret: Uint8Array, pendingToken: string, labels: EnrolmentLabels): Promise<PendingEnrolment> {
  const keyUri = totpKeyUri(labels.issuer, labels.accountName, secret);
  return { pendingToken, manualKey: formatTotpKey(secret), qrSvg: renderQrSvg(keyUri), keyUri };
}

/** A fresh 20-byte secret for the setup page. Nothing is written: the secret is saved only by confirmEnrolment. */
export async function beginEnrolment(
  keys: TotpKeys,
  owner: FactorOwner,
  labels: EnrolmentLabels,
  now = Date.now(),
): Promise<PendingEnrolment> {
  const secret = generateTotpSecret();
  return enrolmentView(secret, await sealPendingTotpSecret(keys, owner.firmId, owner.id, secret, now), labels);
}

/** The same setup page again (after a wrong code), from its sealed secret; null when expired or not this owner's. */
export async function resumeEnrolment(
  keys: TotpKeys,
  owner: FactorOwner,
  labels: EnrolmentLabels,
  pendingToken: string,
  now = Date.now(),
): Promise<PendingEnrolment | null> {
  const secret = await openPendingTotpSecret(keys, owner.firmId, owner.id, pendingToken, now);
  return secret ? enrolmentView(secret, pendingToken, labels) : null;
}

export type EnrolmentResult =
  | { ok: true; step: number }
  | { ok: false; reason: EnrolmentFailure };

/**
 * Saves the secret only after a valid code for it, and burns that code's step in the same UPDATE
 * (rule 12: the enrolment code cannot be replayed at sign-in). The UPDATE also requires 2FA to be off,
 * so two confirmations racing cannot leave the account with a secret the user did not see.
 */
export async function confirmEnrolment(
  db: Database,
  keys: TotpKeys,
  owner: FactorOwner,
  pendingToken: string,
  code: string,
  now = Date.now(),
): Promise<EnrolmentResult> {
  const secret = await openPendingTotpSecret(keys, owner.firmId, owner.id, pendingToken, now);
  if (!secret) return { ok: false, reason: "expired" };
  const state = await loadFactorState(db, owner);
  if (!state) return { ok: false, reason: "expired" };
  if (state.enabledAt !== null) return { ok: false, reason: "already_enrolled" };
  const step = matchTotpStep(secret, code, state.lastStep, now);
  if (step === null) return { ok: false, reason: "invalid" };
  const t = tableOf(owner);
  const saved = await db
    .update(t)
    .set({
      totpSecret: await encryptTotpSecret(keys, owner.firmId, owner.id, secret),
      totpEnabledAt: now,
      totpLastStep: step,
      totpFailures: 0,
      totpLockedUntil: null,
    })
    .where(and(eq(t.id, owner.id), eq(t.firmId, owner.firmId), isNull(t.totpEnabledAt), or(isNull(t.totpLastStep), lt(t.totpLastStep, step))))
    .returning({ id: t.id });
  return saved.length === 1 ? { ok: true, step } : { ok: false, reason: "already_enrolled" };
}

/**
 * Statement that turns TOTP off and forgets the secret (the old secret's codes die with it, so the last
 * step is cleared too). For a portal account, add deleteRecoveryCodes to the same batch.
 */
export function disableTotp(db: Database, owner: FactorOwner): Statement {
  const t = tableOf(owner);
  return db
    .update(t)
    .set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null, totpFailures: 0, totpLockedUntil: null })
    .where(and(eq(t.id, owner.id), eq(t.firmId, owner.firmId)));
}

/** What to tell the person, in the words of the sign-in page. */
/** A failed code as a refusal: 429 while the factor is locked, 401 otherwise. */
export function factorRefusal(failure: FactorFailure, message = factorFailureMessage(failure)): Refusal {
  return { ok: false, status: failure.reason === "locked" ? 429 : 401, error: message };
}

export type EnrolmentFailure = "expired" | "invalid" | "already_enrolled";

/** A refused enrolment, in the words of the setup pages; `expired` names where the new QR code is. */
export function enrolmentRefusal(reason: EnrolmentFailure, expired: string): Refusal<EnrolmentFailure> {
  const error = {
    expired,
    invalid: "That code does not match. Enter the current 6-digit code from your authenticator app.",
    already_enrolled: "Two-factor authentication is already on for your account.",
  }[reason];
  return { ok: false, status: 422, reason, error };
}

function factorFailureMessage(failure: FactorFailure): string {
  switch (failure.reason) {
    case "locked":
      return "Too many wrong codes. Two-factor sign-in is locked for 15 minutes; try again later.";
    case "not_enrolled":
      return "Two-factor authentication is not set up for this account.";
    default:
      return "That code is not valid. Enter the current code from your authenticator app.";
  }
}
