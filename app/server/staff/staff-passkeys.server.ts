// Staff passkeys (PRODUCT.md "Passkeys", docs/decisions/019): sign-in without an email at /login, the
// second step at /login/2fa (or confirming who you are), adding and removing on the account page. A
// passkey with user verification passes the second factor, "Require 2FA for all staff" included.
import { and, eq, isNotNull } from "drizzle-orm";
import { firms, staffUsers, webauthnCredentials } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import {
  deletePasskey,
  findOwnedPasskey,
  insertPasskey,
  discoverableSignInOptions,
  ownerRegistrationOptions,
  ownerStepOptions,
  storePasskey,
  passkeyName,
  staffPasskeyCount,
  type PasskeyOwner,
} from "../auth/passkey-owners.server";
import { ABSOLUTE_TIMEOUT_MS, deleteStaffSessions, issueSession, rotateSession } from "../auth/sessions.server";
import {
  deviceBinding,
  recordCredentialUse,
  relyingParty,
  sessionBinding,
  verifyAssertion,
  verifyRegistration,
  type AssertionResponse,
  type RegistrationResponse,
  type WebauthnCredential,
} from "../auth/webauthn.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { securityNoticeEmail } from "../emails.server";
import { queueEmail } from "../outbox.server";
import type { RequestMeta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import type { Firm, StaffUser } from "../types";
import { hasRecentAuth, needsStaffSecondFactor, type StaffAuth } from "./staff-auth.server";

type Options = Record<string, unknown>;
const RECENT_AUTH = "For your security, confirm your password first.";

function owner(staff: Pick<StaffUser, "id" | "firmId">): PasskeyOwner {
  return { kind: "staff", id: staff.id, firmId: staff.firmId };
}

function actor(staff: StaffUser) {
  return { type: "staff" as const, id: staff.id, label: staff.email };
}

function notice(db: Database, auth: { staff: StaffUser; firm: Firm }, subject: string, body: string[]): Statement {
  return queueEmail(db, securityNoticeEmail({ firm: auth.firm, to: auth.staff.email, name: auth.staff.name, subject, body }));
}

// ---------------------------------------------------------------------------------------------
// Sign-in at /login (no email: staff sign-in is not per firm, the credential names the staff member)

export async function staffPasskeySignInOptions(db: Database, env: Env, deviceId: string, now = Date.now()): Promise<Result<{ options: Options }>> {
  return discoverableSignInOptions(db, env, deviceId, null, now);
}

type StaffCredentialRow = { credential: WebauthnCredential; staff: StaffUser; firm: Firm; passkeys: number };

/** A staff credential of an active staff member; a client's credential is unknown here. */
async function findStaffCredential(db: Database, credentialId: string): Promise<StaffCredentialRow | null> {
  const [row] = await db
    .select({ credential: webauthnCredentials, staff: staffUsers, firm: firms, passkeys: staffPasskeyCount(staffUsers.id) })
    .from(webauthnCredentials)
    .innerJoin(staffUsers, and(eq(staffUsers.id, webauthnCredentials.staffUserId), eq(staffUsers.firmId, webauthnCredentials.firmId)))
    .innerJoin(firms, eq(firms.id, staffUsers.firmId))
    .where(and(eq(webauthnCredentials.credentialId, credentialId), isNotNull(webauthnCredentials.staffUserId)))
    .limit(1);
  if (!row || row.staff.deactivatedAt) return null;
  return row;
}

export type StaffPasskeySignIn = Result<{ token: string; needsSecondFactor: boolean }>;

/** A passkey session for staff; past 2FA with user verification, otherwise at /login/2fa where 2FA applies. */
export async function signInStaffWithPasskey(
  db: Database,
  env: Env,
  response: AssertionResponse,
  meta: RequestMeta & { deviceId: string },
  now = Date.now(),
): Promise<StaffPasskeySignIn> {
  let found: StaffCredentialRow | null = null;
  const scope = { purpose: "authenticate" as const, boundTo: await deviceBinding(meta.deviceId), firmId: null };
  const verified = await verifyAssertion(db, relyingParty(env), response, scope, async (id) => (found = await findStaffCredential(db, id))?.credential ?? null, now);
  if (!verified.ok) return verified;
  const row = found as StaffCredentialRow | null;
  if (!row) return refuse(401, "That passkey could not be used. Try again.");
  const issued = await issueSession(db, {
    kind: "staff",
    firmId: row.firm.id,
    staffUserId: row.staff.id,
    reauthenticatedAt: now,
    twoFactorVerifiedAt: verified.userVerified ? now : null,
    ip: meta.ip,
    userAgent: meta.userAgent,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
  }, now);
  const needsSecondFactor = needsStaffSecondFactor(row) && !verified.userVerified;
  await runBatch(db, [
    issued.insert,
    recordCredentialUse(db, verified, now),
    auditEvent(db, {
      firmId: row.firm.id,
      type: needsSecondFactor ? "staff.passkey_accepted" : "staff.signed_in",
      actor: actor(row.staff),
      detail: { factor: "passkey", passkey: verified.credential.name, userVerified: verified.userVerified },
      ip: meta.ip,
      userAgent: meta.userAgent,
      at: now,
    }),
  ]);
  return { ok: true, token: issued.token, needsSecondFactor };
}

// ---------------------------------------------------------------------------------------------
// The second step at /login/2fa, or confirming who you are (re-authentication)

export async function staffStepOptions(db: Database, env: Env, auth: StaffAuth, now = Date.now()): Promise<Result<{ options: Options }>> {
  return ownerStepOptions(db, env, owner(auth.staff), auth.session.id, now);
}

/** With user verification: passes the second factor of a pending session, or re-authenticates a signed-in one. */
export async function completeStaffPasskeyStep(db: Database, env: Env, auth: StaffAuth, response: AssertionResponse, meta: RequestMeta, now = Date.now()): Promise<Result<{ token: string }>> {
  const scope = { purpose: "authenticate" as const, boundTo: await sessionBinding(auth.session.id), firmId: auth.firm.id };
  const verified = await verifyAssertion(db, relyingParty(env), response, scope, async (id) => {
    const found = await findStaffCredential(db, id);
    return found && found.staff.id === auth.staff.id ? found.credential : null;
  }, now);
  if (!verified.ok) return verified;
  if (!verified.userVerified) return refuse(401, "Your device did not verify you (fingerprint, face or PIN). Try again.");
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: auth.session.twoFactorVerifiedAt ?? now, reauthenticatedAt: now }, now);
  const type = auth.session.twoFactorVerifiedAt ? "staff.reauthenticated" : "staff.two_factor_passed";
  await runBatch(db, [
    recordCredentialUse(db, verified, now),
    ...rotated.statements,
    auditEvent(db, { firmId: auth.firm.id, type, actor: actor(auth.staff), detail: { factor: "passkey", passkey: verified.credential.name }, ...meta, at: now }),
  ]);
  return { ok: true, token: rotated.token };
}

// ---------------------------------------------------------------------------------------------
// Adding and removing on the account page (recent password, as every sensitive staff action: rule 18)

export async function staffRegistrationOptions(db: Database, env: Env, auth: StaffAuth, now = Date.now()): Promise<Result<{ options: Options }>> {
  if (!hasRecentAuth(auth.session, now)) return refuse(403, RECENT_AUTH);
  const user = { name: `${auth.staff.email} (${auth.firm.name} staff)`, displayName: `${auth.staff.name} (${auth.firm.name} staff)` };
  return ownerRegistrationOptions(db, env, owner(auth.staff), auth.session.id, user, now);
}

/** Stores a verified passkey; the session that added it has proved the factor, so it counts as past 2FA. */
export async function addStaffPasskey(
  db: Database,
  env: Env,
  auth: StaffAuth,
  response: RegistrationResponse,
  name: string | undefined,
  meta: RequestMeta,
  now = Date.now(),
): Promise<Result<{ token: string }>> {
  if (!hasRecentAuth(auth.session, now)) return refuse(403, RECENT_AUTH);
  const scope = { purpose: "register" as const, boundTo: await sessionBinding(auth.session.id), firmId: auth.firm.id };
  const verified = await verifyRegistration(db, relyingParty(env), response, scope, now);
  if (!verified.ok) return verified;
  const label = passkeyName(name);
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: auth.session.twoFactorVerifiedAt ?? now }, now);
  const stored = await storePasskey(db, [
    insertPasskey(db, owner(auth.staff), verified.credential, label, now),
    ...rotated.statements,
    auditEvent(db, { firmId: auth.firm.id, type: "staff.passkey_added", actor: actor(auth.staff), detail: { passkey: label }, ...meta, at: now }),
    notice(db, auth, "a passkey was added", [`A passkey named "${label}" was added to your staff login.`]),
  ]);
  if (!stored.ok) return stored;
  return { ok: true, token: rotated.token };
}

/** Removes one passkey (recent password); the staff member's other sessions end. */
export async function removeStaffPasskey(db: Database, auth: StaffAuth, id: string, meta: RequestMeta, now = Date.now()): Promise<Result> {
  if (!hasRecentAuth(auth.session, now)) return refuse(403, RECENT_AUTH);
  const credential = await findOwnedPasskey(db, owner(auth.staff), id);
  if (!credential) return refuse(404, "That passkey was not found.");
  await runBatch(db, [
    deletePasskey(db, owner(auth.staff), id),
    deleteStaffSessions(db, auth.staff.id, auth.session.id),
    auditEvent(db, { firmId: auth.firm.id, type: "staff.passkey_removed", actor: actor(auth.staff), detail: { passkey: credential.name }, ...meta, at: now }),
    notice(db, auth, "a passkey was removed", [`The passkey named "${credential.name}" was removed from your staff login, and your other devices were signed out.`]),
  ]);
  return { ok: true };
}
