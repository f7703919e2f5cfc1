// Client two-factor authentication: the code step after the password, enrolment with recovery codes,
// recovery, and turning 2FA off where the firm allows it. The rules themselves (lockout, replay, the
// sealed pending secret) live in second-factor.server.ts; where a client may go lives in portal-auth.
import { auditEvent } from "../audit.server";
import { clientSignedIn, type SignInMeta } from "../auth/devices.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { securityNoticeEmail } from "../emails.server";
import { queueEmail } from "../outbox.server";
import type { PortalAuth } from "./portal-auth.server";
import { turnOffSecondFactorRefusal } from "./portal-policy.server";
import { deleteRecoveryCodes, generateRecoveryCodes, replaceRecoveryCodes } from "../auth/recovery-codes.server";
import {
  beginEnrolment,
  confirmEnrolment,
  disableTotp,
  enrolmentRefusal,
  factorRefusal,
  resumeEnrolment,
  verifyRecoveryAttempt,
  verifyTotpAttempt,
  type EnrolmentFailure,
  type FactorOwner,
  type PendingEnrolment,
} from "../auth/second-factor.server";
import { refuse, type Result } from "../result";
import { deleteContactSessions, rotateSession, voidMailedCredentials } from "../auth/sessions.server";

type Meta = SignInMeta;

export type ClientFactorResult = Result<{ token: string; auth: PortalAuth }>;

function owner(auth: PortalAuth): FactorOwner & { kind: "portal" } {
  return { kind: "portal", id: auth.account!.id, firmId: auth.firm.id };
}

function actor(auth: PortalAuth) {
  return { type: "client" as const, id: auth.contact.id, label: auth.account?.email ?? auth.contact.email };
}

function labels(auth: PortalAuth) {
  return { issuer: `${auth.firm.name} portal`, accountName: auth.account?.email ?? auth.contact.email };
}

/** Replaces the session by one marked as past 2FA, with a new token (SECURITY.md rule 25). */
async function passSecondFactor(db: Database, auth: PortalAuth, extra: Statement[], now: number) {
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: now }, now);
  await runBatch(db, [...extra, ...rotated.statements]);
  return { token: rotated.token, auth: { ...auth, session: rotated.session } };
}

/** The 6-digit code after the password. */
export async function completeClientSecondFactor(db: Database, env: Env, auth: PortalAuth, code: string, meta: Meta, now = Date.now()): Promise<ClientFactorResult> {
  if (!auth.account) return { ok: false, status: 400, error: "Sign in with your password first." };
  const result = await verifyTotpAttempt(db, env, owner(auth), code, now);
  if (!result.ok) {
    await auditEvent(db, {
      firmId: auth.firm.id,
      type: result.reason === "locked" ? "client.two_factor_locked" : "client.two_factor_failed",
      actor: actor(auth),
      contactId: auth.contact.id,
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    return factorRefusal(result);
  }
  const passed = await passSecondFactor(
    db,
    auth,
    await clientSignedIn(db, auth, meta, { factor: "totp" }, now),
    now,
  );
  return { ok: true, ...passed };
}

export function startClientEnrolment(env: Env, auth: PortalAuth, now = Date.now()): Promise<PendingEnrolment> {
  return beginEnrolment(env, owner(auth), labels(auth), now);
}

export function resumeClientEnrolment(env: Env, auth: PortalAuth, pendingToken: string, now = Date.now()) {
  return resumeEnrolment(env, owner(auth), labels(auth), pendingToken, now);
}

export type ClientEnrolment = Result<{ token: string; auth: PortalAuth; recoveryCodes: string[] }, EnrolmentFailure>;

/**
 * Saves the secret after a valid code (burning its step), issues 10 recovery codes shown once, marks
 * this browser's session as past 2FA and ends the client's other sessions, which would now need a code.
 */
export async function enrolClientTotp(
  db: Database,
  env: Env,
  auth: PortalAuth,
  pendingToken: string,
  code: string,
  meta: Meta,
  now = Date.now(),
): Promise<ClientEnrolment> {
  const result = await confirmEnrolment(db, env, owner(auth), pendingToken, code, now);
  if (!result.ok) return enrolmentRefusal(result.reason, "This setup page has expired. Scan the new QR code and enter a fresh code.");
  const recoveryCodes = generateRecoveryCodes();
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: now }, now);
  await runBatch(db, [
    ...(await replaceRecoveryCodes(db, env, auth.account!.id, recoveryCodes, now)),
    deleteContactSessions(db, auth.contact.id, auth.session.id),
    ...rotated.statements,
    auditEvent(db, { firmId: auth.firm.id, type: "client.two_factor_enabled", actor: actor(auth), contactId: auth.contact.id, ...meta }),
  ]);
  const account = { ...auth.account!, totpEnabledAt: now };
  return { ok: true, token: rotated.token, auth: { ...auth, account, session: rotated.session }, recoveryCodes };
}

/**
 * A recovery code signs the client in once, is used up, and turns 2FA off: the other sessions end, the
 * client is emailed, and where the firm requires 2FA the client goes straight to enrolment again.
 */
export async function redeemRecoveryCode(db: Database, env: Env, auth: PortalAuth, code: string, meta: Meta, now = Date.now()): Promise<ClientFactorResult> {
  if (!auth.account) return { ok: false, status: 400, error: "Sign in with your password first." };
  const result = await verifyRecoveryAttempt(db, env, owner(auth), code, now);
  if (!result.ok) {
    await auditEvent(db, { firmId: auth.firm.id, type: "client.recovery_code_failed", actor: actor(auth), contactId: auth.contact.id, ...meta });
    return result.reason === "invalid" ? factorRefusal(result, "That recovery code is not valid.") : factorRefusal(result);
  }
  const passed = await passSecondFactor(
    db,
    auth,
    [
      disableTotp(db, owner(auth)),
      deleteRecoveryCodes(db, auth.account.id),
      deleteContactSessions(db, auth.contact.id, auth.session.id),
      // A used recovery code may mean a lost or stolen factor: like a staff 2FA reset (rule 27), nothing
      // mailed before (links, claimed links, reset and verification tokens) lets anyone back in.
      voidMailedCredentials(db, auth.contact.id),
      ...(await clientSignedIn(db, auth, meta, { factor: "recovery_code" }, now)),
      auditEvent(db, { firmId: auth.firm.id, type: "client.recovery_code_used", actor: actor(auth), contactId: auth.contact.id, ip: meta.ip, userAgent: meta.userAgent }),
      queueEmail(
        db,
        securityNoticeEmail({
          firm: auth.firm,
          to: auth.account.email,
          name: auth.contact.name,
          subject: "a recovery code was used",
          body: [
            "Someone signed in to your portal account with one of your recovery codes. Two-factor authentication is now off,",
            "and every other device was signed out. Set up your authenticator app again from your account page.",
          ],
        }),
      ),
    ],
    now,
  );
  const account = { ...auth.account, totpEnabledAt: null, totpSecret: null };
  return { ok: true, token: passed.token, auth: { ...passed.auth, account } };
}

/** Turning 2FA off needs a current code, and is impossible while the firm requires 2FA. */
export async function disableClientTotp(db: Database, env: Env, auth: PortalAuth, code: string, meta: Meta, now = Date.now()): Promise<Result> {
  const refused = turnOffSecondFactorRefusal(auth.firm);
  if (refused) return refuse(403, refused);
  if (!auth.account?.totpEnabledAt) return { ok: false, status: 403, error: "Two-factor authentication is not on." };
  const result = await verifyTotpAttempt(db, env, owner(auth), code, now);
  if (!result.ok) return factorRefusal(result);
  await runBatch(db, [
    disableTotp(db, owner(auth)),
    deleteRecoveryCodes(db, auth.account.id),
    // Deactivating 2FA voids what was mailed before, whoever does it (rule 27), and ends the other
    // sessions: one held at the code step by someone with the password must not walk in once 2FA is off.
    voidMailedCredentials(db, auth.contact.id),
    deleteContactSessions(db, auth.contact.id, auth.session.id),
    auditEvent(db, { firmId: auth.firm.id, type: "client.two_factor_disabled", actor: actor(auth), contactId: auth.contact.id, ...meta }),
    queueEmail(
      db,
      securityNoticeEmail({
        firm: auth.firm,
        to: auth.account.email,
        name: auth.contact.name,
        subject: "two-factor authentication was turned off",
        body: ["Two-factor authentication was turned off for your portal login, and every other device was signed out."],
      }),
    ),
  ]);
  return { ok: true };
}
