// Staff two-factor authentication: the sign-in step at /login/2fa and the account page's enrolment and
// turning off. The rules themselves (lockout, replay, sealed pending secret) live in second-factor.server.ts.
import type { Database } from "../db.server";
import { auditEvent } from "../audit.server";
import { runBatch } from "../db.server";
import {
  beginEnrolment,
  confirmEnrolment,
  disableTotp,
  enrolmentRefusal,
  factorRefusal,
  resumeEnrolment,
  verifyTotpAttempt,
  type EnrolmentFailure,
  type FactorOwner,
  type PendingEnrolment,
} from "../auth/second-factor.server";
import type { TotpKeys } from "../keyring.server";
import type { RequestMeta } from "../request-meta.server";
import type { Result } from "../result";
import { deleteStaffSessions, rotateSession } from "../auth/sessions.server";
import type { StaffAuth } from "./staff-auth.server";
import type { StaffUser } from "../types";

export const TOTP_ISSUER = "Client Portal";

export type StaffFactorResult = Result<{ token: string }>;

export function staffFactorOwner(staff: Pick<StaffUser, "id" | "firmId">): FactorOwner {
  return { kind: "staff", id: staff.id, firmId: staff.firmId };
}

function actorOf(auth: StaffAuth) {
  return { type: "staff" as const, id: auth.staff.id, label: auth.staff.email };
}

/** The code step of sign-in. Success replaces the session by one marked as past 2FA, with a new token. */
export async function completeStaffSecondFactor(
  db: Database,
  keys: TotpKeys,
  pending: StaffAuth,
  code: string,
  meta: RequestMeta,
  now = Date.now(),
): Promise<StaffFactorResult> {
  const result = await verifyTotpAttempt(db, keys, staffFactorOwner(pending.staff), code, now);
  if (!result.ok) {
    await auditEvent(db, {
      firmId: pending.firm.id,
      type: result.reason === "locked" ? "staff.two_factor_locked" : "staff.two_factor_failed",
      actor: actorOf(pending),
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    return factorRefusal(result);
  }
  const rotated = await rotateSession(db, pending.session, { twoFactorVerifiedAt: now }, now);
  await runBatch(db, [
    ...rotated.statements,
    auditEvent(db, { firmId: pending.firm.id, type: "staff.two_factor_passed", actor: actorOf(pending), ip: meta.ip, userAgent: meta.userAgent }),
  ]);
  return { ok: true, token: rotated.token };
}

export function startStaffEnrolment(keys: TotpKeys, auth: StaffAuth, now = Date.now()): Promise<PendingEnrolment> {
  return beginEnrolment(keys, staffFactorOwner(auth.staff), { issuer: TOTP_ISSUER, accountName: auth.staff.email }, now);
}

export function resumeStaffEnrolment(keys: TotpKeys, auth: StaffAuth, pendingToken: string, now = Date.now()) {
  return resumeEnrolment(keys, staffFactorOwner(auth.staff), { issuer: TOTP_ISSUER, accountName: auth.staff.email }, pendingToken, now);
}

export type StaffEnrolmentResult = Result<{ token: string }, EnrolmentFailure>;

/**
 * Turns TOTP on once the code matches the secret shown. This browser has just proved the factor, so its
 * session is rotated as past 2FA; the staff member's other sessions end (they would now need a code).
 */
export async function enrolStaffTotp(
  db: Database,
  keys: TotpKeys,
  auth: StaffAuth,
  pendingToken: string,
  code: string,
  meta: RequestMeta,
  now = Date.now(),
): Promise<StaffEnrolmentResult> {
  const result = await confirmEnrolment(db, keys, staffFactorOwner(auth.staff), pendingToken, code, now);
  if (!result.ok) return enrolmentRefusal(result.reason, "This setup page has expired. Scan the new QR code below and enter a fresh code.");
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: now }, now);
  await runBatch(db, [
    deleteStaffSessions(db, auth.staff.id, rotated.session.id),
    ...rotated.statements,
    auditEvent(db, { firmId: auth.firm.id, type: "staff.two_factor_enabled", actor: actorOf(auth), ip: meta.ip, userAgent: meta.userAgent }),
  ]);
  return { ok: true, token: rotated.token };
}

/** Turning TOTP off needs a current code, under the same lockout and replay rules as sign-in. */
export async function disableStaffTotp(
  db: Database,
  keys: TotpKeys,
  auth: StaffAuth,
  code: string,
  meta: RequestMeta,
  now = Date.now(),
): Promise<Result> {
  const owner = staffFactorOwner(auth.staff);
  const result = await verifyTotpAttempt(db, keys, owner, code, now);
  if (!result.ok) return factorRefusal(result);
  await runBatch(db, [
    disableTotp(db, owner),
    auditEvent(db, { firmId: auth.firm.id, type: "staff.two_factor_disabled", actor: actorOf(auth), ip: meta.ip, userAgent: meta.userAgent }),
  ]);
  return { ok: true };
}
