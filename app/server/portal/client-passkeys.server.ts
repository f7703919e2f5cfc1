// Client passkeys (PRODUCT.md "Passkeys", docs/decisions/019): sign-in without an email, the second step
// after a password, confirming who you are, adding and removing. What a passkey grants is the portal
// policy's (`FACTORS.passkey`); the ceremonies are webauthn.server.ts's. Each change is one D1 batch with
// its audit event and email.
import { and, eq, isNotNull } from "drizzle-orm";
import { contacts, portalAccounts, webauthnCredentials } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { clientSignedIn, type SignInMeta } from "../auth/devices.server";
import {
  accountPasskeyCount,
  deletePasskey,
  findOwnedPasskey,
  insertPasskey,
  discoverableSignInOptions,
  ownerRegistrationOptions,
  ownerStepOptions,
  storePasskey,
  passkeyName,
  type PasskeyOwner,
} from "../auth/passkey-owners.server";
import { ABSOLUTE_TIMEOUT_MS, deleteContactSessions, issueSession, rotateSession, voidMailedCredentials } from "../auth/sessions.server";
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
import type { Firm } from "../types";
import { REAUTH_NEEDED, clientRecentlyAuthenticated, confirmClientIdentity } from "./client-reauth.server";
import { portalAccess, type PortalAuth } from "./portal-auth.server";
import { countsAsSecondFactor, passkeyRefusal } from "./portal-policy.server";

type Options = Record<string, unknown>;
export type PasskeySignIn = Result<{ token: string; auth: PortalAuth }>;

function owner(auth: PortalAuth): PasskeyOwner {
  return { kind: "portal", id: auth.account!.id, firmId: auth.firm.id };
}

function actor(auth: PortalAuth) {
  return { type: "client" as const, id: auth.contact.id, label: auth.account?.email ?? auth.contact.email };
}

function notice(db: Database, auth: PortalAuth, subject: string, body: string[]): Statement {
  return queueEmail(db, securityNoticeEmail({ firm: auth.firm, to: auth.account!.email, name: auth.contact.name, subject, body }));
}

// ---------------------------------------------------------------------------------------------
// Sign-in with a passkey (no email typed): a discoverable credential, bound to the browser that asked.

export async function passkeySignInOptions(db: Database, env: Env, firm: Firm, deviceId: string, now = Date.now()): Promise<Result<{ options: Options }>> {
  const refused = passkeyRefusal(firm);
  if (refused) return refuse(403, refused);
  return discoverableSignInOptions(db, env, deviceId, firm.id, now);
}

type CredentialOwnerRow = { credential: WebauthnCredential; account: typeof portalAccounts.$inferSelect; contact: typeof contacts.$inferSelect; passkeys: number };

/**
 * The credential of a live portal account of this firm (SECURITY.md rule 34): another firm's credential,
 * a staff credential, a removed one, or one of a deactivated account or deleted contact is unknown here.
 */
async function findClientCredential(db: Database, firm: Firm, credentialId: string): Promise<CredentialOwnerRow | null> {
  const [row] = await db
    .select({ credential: webauthnCredentials, account: portalAccounts, contact: contacts, passkeys: accountPasskeyCount(portalAccounts.id) })
    .from(webauthnCredentials)
    .innerJoin(portalAccounts, and(eq(portalAccounts.id, webauthnCredentials.portalAccountId), eq(portalAccounts.firmId, webauthnCredentials.firmId)))
    .innerJoin(contacts, and(eq(contacts.id, portalAccounts.contactId), eq(contacts.firmId, portalAccounts.firmId)))
    .where(and(eq(webauthnCredentials.credentialId, credentialId), eq(webauthnCredentials.firmId, firm.id), isNotNull(webauthnCredentials.portalAccountId)))
    .limit(1);
  if (!row || row.account.deactivatedAt || row.contact.deletedAt) return null;
  return row;
}

/**
 * Verifies the assertion and opens a passkey session. With user verification the session is past the
 * second factor (rule 35); without it, where 2FA applies, it waits at the 2FA step like a password's.
 */
export async function signInWithPasskey(
  db: Database,
  env: Env,
  firm: Firm,
  response: AssertionResponse,
  meta: SignInMeta & { deviceId: string },
  now = Date.now(),
): Promise<PasskeySignIn> {
  const refused = passkeyRefusal(firm);
  if (refused) return refuse(403, refused);
  let found: CredentialOwnerRow | null = null;
  const scope = { purpose: "authenticate" as const, boundTo: await deviceBinding(meta.deviceId), firmId: firm.id };
  const verified = await verifyAssertion(db, relyingParty(env), response, scope, async (id) => (found = await findClientCredential(db, firm, id))?.credential ?? null, now);
  if (!verified.ok || !found) return verified.ok ? refuse(401, "That passkey could not be used. Try again.") : verified;
  const { account, contact, passkeys } = found as CredentialOwnerRow;
  const passed = countsAsSecondFactor("passkey", { userVerified: verified.userVerified });
  const issued = await issueSession(db, {
    kind: "client_passkey",
    firmId: firm.id,
    portalAccountId: account.id,
    contactId: contact.id,
    twoFactorVerifiedAt: passed ? now : null,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
    ip: meta.ip,
    userAgent: meta.userAgent,
  }, now);
  const auth: PortalAuth = { session: issued.session, firm, contact, account, passkeys };
  const detail = { factor: "passkey", passkey: verified.credential.name, userVerified: verified.userVerified };
  const statements: Statement[] = [
    issued.insert,
    recordCredentialUse(db, verified, now),
    // Where the session still needs a second factor, the 2FA step records the sign-in.
    ...(portalAccess(auth, firm.slug).status === "granted"
      ? await clientSignedIn(db, auth, meta, detail, now)
      : [auditEvent(db, { firmId: firm.id, type: "client.passkey_accepted", actor: actor(auth), contactId: contact.id, detail, ip: meta.ip, userAgent: meta.userAgent, at: now })]),
  ];
  await runBatch(db, statements);
  return { ok: true, token: issued.token, auth };
}

// ---------------------------------------------------------------------------------------------
// A passkey of a signed-in client: the second step after a password, or confirming who they are.

/** Why this session may not use its passkey as a step now, or null; which step it would be. */
function stepOf(auth: PortalAuth): "second_factor" | "reauthenticate" | null {
  const access = portalAccess(auth, auth.firm.slug, "account");
  if (access.status === "needs_code") return "second_factor";
  if (access.status === "granted") return "reauthenticate";
  return null;
}

export async function passkeyStepOptions(db: Database, env: Env, auth: PortalAuth, now = Date.now()): Promise<Result<{ options: Options }>> {
  if (!auth.account || !stepOf(auth)) return refuse(403, "Sign in first.");
  return ownerStepOptions(db, env, owner(auth), auth.session.id, now);
}

/** A passkey with user verification, from this account, passes the 2FA step or confirms who the client is. */
export async function completePasskeyStep(db: Database, env: Env, auth: PortalAuth, response: AssertionResponse, meta: SignInMeta, now = Date.now()): Promise<PasskeySignIn> {
  const step = stepOf(auth);
  if (!auth.account || !step) return refuse(403, "Sign in first.");
  const scope = { purpose: "authenticate" as const, boundTo: await sessionBinding(auth.session.id), firmId: auth.firm.id };
  const verified = await verifyAssertion(db, relyingParty(env), response, scope, async (id) => {
    const found = await findClientCredential(db, auth.firm, id);
    return found && found.account.id === auth.account!.id ? found.credential : null;
  }, now);
  if (!verified.ok) return verified;
  if (!countsAsSecondFactor("passkey", { userVerified: verified.userVerified })) {
    return refuse(401, "Your device did not verify you (fingerprint, face or PIN). Try again.");
  }
  if (step === "reauthenticate") {
    await runBatch(db, [recordCredentialUse(db, verified, now)]);
    return confirmClientIdentity(db, auth, { method: "passkey", passkey: verified.credential.name }, meta, now);
  }
  const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: now }, now);
  const passedAuth = { ...auth, session: rotated.session };
  await runBatch(db, [
    recordCredentialUse(db, verified, now),
    ...(await clientSignedIn(db, passedAuth, meta, { factor: "password+passkey", passkey: verified.credential.name }, now)),
    ...rotated.statements,
  ]);
  return { ok: true, token: rotated.token, auth: passedAuth };
}

// ---------------------------------------------------------------------------------------------
// Adding a passkey: from the account page (signed in, recently confirmed) or as the enrolment where the
// firm requires a second factor (just signed in with the password, nothing set up yet).

type Registering = "account" | "enrolment";

function registering(auth: PortalAuth, now: number): Result<{ via: Registering }> {
  const refused = passkeyRefusal(auth.firm);
  if (refused) return refuse(403, refused);
  if (!auth.account) return refuse(403, "Sign in first.");
  const access = portalAccess(auth, auth.firm.slug, "account");
  if (access.status === "needs_enrolment") return { ok: true, via: "enrolment" };
  if (access.status !== "granted") return refuse(403, "Sign in first.");
  if (!clientRecentlyAuthenticated(auth.session, now)) return refuse(403, REAUTH_NEEDED);
  return { ok: true, via: "account" };
}

export async function passkeyRegistrationOptions(db: Database, env: Env, auth: PortalAuth, now = Date.now()): Promise<Result<{ options: Options }>> {
  const allowed = registering(auth, now);
  if (!allowed.ok) return allowed;
  const email = auth.account!.email;
  // The firm's name tells two passkeys of one person apart: every firm's portal shares one RP ID.
  const user = { name: `${email} (${auth.firm.name})`, displayName: `${auth.contact.name} (${auth.firm.name})` };
  return ownerRegistrationOptions(db, env, owner(auth), auth.session.id, user, now);
}

export type PasskeyAdded = Result<{ token: string | null; auth: PortalAuth }>;

/**
 * Stores a verified new passkey with its audit event and email. As the enrolment, it also passes the
 * second factor for this browser (with a new token) and ends the client's other sessions, as setting up
 * an authenticator app does.
 */
export async function addClientPasskey(
  db: Database,
  env: Env,
  auth: PortalAuth,
  response: RegistrationResponse,
  name: string | undefined,
  meta: RequestMeta,
  now = Date.now(),
): Promise<PasskeyAdded> {
  const allowed = registering(auth, now);
  if (!allowed.ok) return allowed;
  const scope = { purpose: "register" as const, boundTo: await sessionBinding(auth.session.id), firmId: auth.firm.id };
  const verified = await verifyRegistration(db, relyingParty(env), response, scope, now);
  if (!verified.ok) return verified;
  const label = passkeyName(name);
  const statements: Statement[] = [
    insertPasskey(db, owner(auth), verified.credential, label, now),
    auditEvent(db, { firmId: auth.firm.id, type: "client.passkey_added", actor: actor(auth), contactId: auth.contact.id, detail: { passkey: label }, ...meta, at: now }),
    notice(db, auth, "a passkey was added", [`A passkey named "${label}" was added to your portal login. You can sign in with it without a password.`]),
  ];
  let token: string | null = null;
  let session = auth.session;
  if (allowed.via === "enrolment") {
    const rotated = await rotateSession(db, auth.session, { twoFactorVerifiedAt: now }, now);
    statements.push(deleteContactSessions(db, auth.contact.id, auth.session.id), ...rotated.statements);
    token = rotated.token;
    session = rotated.session;
  }
  const stored = await storePasskey(db, statements);
  if (!stored.ok) return stored;
  return { ok: true, token, auth: { ...auth, session, passkeys: auth.passkeys + 1 } };
}

// ---------------------------------------------------------------------------------------------
// Removing a passkey

/**
 * Removes one of the client's passkeys (recently confirmed). Sessions it may have opened end (all but this
 * one), and what was mailed before stops working, as when 2FA is turned off (rule 27).
 */
export async function removeClientPasskey(db: Database, auth: PortalAuth, id: string, meta: RequestMeta, now = Date.now()): Promise<Result> {
  if (!auth.account) return refuse(403, "Sign in first.");
  if (!clientRecentlyAuthenticated(auth.session, now)) return refuse(403, REAUTH_NEEDED);
  const credential = await findOwnedPasskey(db, owner(auth), id);
  if (!credential) return refuse(404, "That passkey was not found.");
  await runBatch(db, [
    deletePasskey(db, owner(auth), id),
    voidMailedCredentials(db, auth.contact.id),
    deleteContactSessions(db, auth.contact.id, auth.session.id),
    auditEvent(db, { firmId: auth.firm.id, type: "client.passkey_removed", actor: actor(auth), contactId: auth.contact.id, detail: { passkey: credential.name }, ...meta, at: now }),
    notice(db, auth, "a passkey was removed", [`The passkey named "${credential.name}" was removed from your portal login, and every other device was signed out.`]),
  ]);
  return { ok: true };
}
