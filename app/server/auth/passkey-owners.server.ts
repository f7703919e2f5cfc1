// Whose passkeys: the stored credentials of one owner (a client's portal account or a staff user), always
// within that owner's firm. The ceremonies are in webauthn.server.ts; what a passkey grants is decided by
// the portal policy (clients) and staff-auth (staff).
import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { portalAccounts, webauthnCredentials } from "../../../db/schema";
import { generateId } from "../crypto.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { refuse, type Result } from "../result";
import type { FactorOwner } from "./second-factor.server";
import {
  MAX_PASSKEYS_PER_OWNER,
  authenticationOptions,
  createChallenge,
  descriptorOf,
  deviceBinding,
  newUserHandle,
  registrationOptions,
  relyingParty,
  sessionBinding,
  type NewCredential,
  type WebauthnCredential,
} from "./webauthn.server";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

export type PasskeyOwner = FactorOwner;

function ownedBy(owner: { kind: PasskeyOwner["kind"]; id: Ref; firmId: Ref }): SQL {
  return and(
    eq(webauthnCredentials.firmId, owner.firmId),
    owner.kind === "staff" ? eq(webauthnCredentials.staffUserId, owner.id) : eq(webauthnCredentials.portalAccountId, owner.id),
  )!;
}

/** A subquery column: how many passkeys the portal account in `accountId` has (for the access decision). */
export function accountPasskeyCount(accountId: AnySQLiteColumn | SQL): SQL<number> {
  // The inner table is aliased: in a single-table query drizzle leaves the outer column unqualified.
  return sql<number>`(SELECT count(*) FROM ${webauthnCredentials} AS "w" WHERE "w"."portal_account_id" = ${accountId})`.mapWith(Number);
}

/** A subquery column: how many passkeys the staff user in `staffUserId` has. */
export function staffPasskeyCount(staffUserId: AnySQLiteColumn | SQL): SQL<number> {
  return sql<number>`(SELECT count(*) FROM ${webauthnCredentials} AS "w" WHERE "w"."staff_user_id" = ${staffUserId})`.mapWith(Number);
}

/** `owner`'s ids may be SQL naming the session's (`ofSession`), so a page reads them in its session's batch. */
export async function listPasskeys(
  db: Database,
  owner: { kind: PasskeyOwner["kind"]; id: Ref; firmId: Ref },
  read: Read = direct,
): Promise<WebauthnCredential[]> {
  return read(db.select().from(webauthnCredentials).where(ownedBy(owner)).orderBy(asc(webauthnCredentials.createdAt)).limit(50));
}

/** The passkeys of a contact's portal account, reached through the account in SQL (one batch with the page). */
export function listContactPasskeys(db: Database, firmId: Ref, contactId: string, read: Read = direct): Promise<WebauthnCredential[]> {
  const accountId = sql`(SELECT "pa"."id" FROM ${portalAccounts} AS "pa" WHERE "pa"."contact_id" = ${contactId})`;
  return listPasskeys(db, { kind: "portal", id: accountId, firmId }, read);
}

/**
 * The options to register one more passkey for `owner` (signed-in session `sessionId`): at most
 * MAX_PASSKEYS_PER_OWNER, the user handle their passkeys already use, a challenge bound to that session,
 * and their passkeys excluded so one authenticator is not registered twice.
 */
export async function ownerRegistrationOptions(
  db: Database,
  env: { APP_URL: string },
  owner: PasskeyOwner,
  sessionId: string,
  user: { name: string; displayName: string },
  now = Date.now(),
): Promise<Result<{ options: Record<string, unknown> }>> {
  const existing = await listPasskeys(db, owner);
  if (existing.length >= MAX_PASSKEYS_PER_OWNER) return refuse(409, `You can have up to ${MAX_PASSKEYS_PER_OWNER} passkeys. Remove one first.`);
  const handle = userHandleOf(existing);
  const boundTo = await sessionBinding(sessionId);
  const { challenge, statements } = await createChallenge(db, { purpose: "register", boundTo, firmId: owner.firmId, userHandle: handle }, now);
  await runBatch(db, statements);
  return { ok: true, options: registrationOptions(relyingParty(env), challenge, { handle, ...user }, existing.map(descriptorOf)) };
}

/**
 * Options for signing in with no email typed: any discoverable passkey, the challenge bound to this
 * browser. `firmId` is the portal's firm; null for staff, whose sign-in is not per firm.
 */
export async function discoverableSignInOptions(
  db: Database,
  env: { APP_URL: string },
  deviceId: string,
  firmId: string | null,
  now = Date.now(),
): Promise<Result<{ options: Record<string, unknown> }>> {
  const { challenge, statements } = await createChallenge(db, { purpose: "authenticate", boundTo: await deviceBinding(deviceId), firmId }, now);
  await runBatch(db, statements);
  return { ok: true, options: authenticationOptions(relyingParty(env), challenge, [], "preferred") };
}

/**
 * Options for a step with one of the owner's own passkeys (the second step after a password, or confirming
 * who you are), with user verification, the challenge bound to the asking session.
 */
export async function ownerStepOptions(
  db: Database,
  env: { APP_URL: string },
  owner: PasskeyOwner,
  sessionId: string,
  now = Date.now(),
): Promise<Result<{ options: Record<string, unknown> }>> {
  const credentials = await listPasskeys(db, owner);
  if (credentials.length === 0) return refuse(409, "You have no passkey yet.");
  const { challenge, statements } = await createChallenge(db, { purpose: "authenticate", boundTo: await sessionBinding(sessionId), firmId: owner.firmId }, now);
  await runBatch(db, statements);
  return { ok: true, options: authenticationOptions(relyingParty(env), challenge, credentials.map(descriptorOf), "required") };
}

/** Runs the batch that stores a new passkey. The same authenticator registered twice (its credential id is unique) writes nothing: 409. */
export async function storePasskey(db: Database, statements: Statement[]): Promise<Result> {
  try {
    await runBatch(db, statements);
    return { ok: true };
  } catch (error) {
    if (String(error).includes("UNIQUE")) return refuse(409, "This passkey is already registered.");
    throw error;
  }
}

/** What a list of passkeys shows: never the key, the credential id or the user handle. */
export type PasskeySummary = { id: string; name: string; createdAt: number; lastUsedAt: number | null; synced: boolean };

export function summarisePasskey(credential: WebauthnCredential): PasskeySummary {
  return {
    id: credential.id,
    name: credential.name,
    createdAt: credential.createdAt,
    lastUsedAt: credential.lastUsedAt,
    // BE (may be synced) and BS (is backed up now): a provider copies it to the owner's other devices.
    synced: credential.backupEligible && credential.backedUp,
  };
}

/** The owner's user handle: the one their passkeys already use (so an authenticator keeps one passkey per owner), or a fresh random one. */
export function userHandleOf(existing: WebauthnCredential[]): string {
  return existing[0]?.userHandle ?? newUserHandle();
}

export function insertPasskey(db: Database, owner: PasskeyOwner, credential: NewCredential, name: string, now = Date.now()): Statement {
  return db.insert(webauthnCredentials).values({
    id: generateId(),
    firmId: owner.firmId,
    portalAccountId: owner.kind === "portal" ? owner.id : null,
    staffUserId: owner.kind === "staff" ? owner.id : null,
    name,
    createdAt: now,
    ...credential,
  });
}

/** One passkey of this owner (by our id), or null: another owner's id is as unknown as a made-up one. */
export async function findOwnedPasskey(db: Database, owner: PasskeyOwner, id: string): Promise<WebauthnCredential | null> {
  const [row] = await db
    .select()
    .from(webauthnCredentials)
    .where(and(ownedBy(owner), eq(webauthnCredentials.id, id)))
    .limit(1);
  return row ?? null;
}

export function deletePasskey(db: Database, owner: PasskeyOwner, id: string): Statement {
  return db.delete(webauthnCredentials).where(and(ownedBy(owner), eq(webauthnCredentials.id, id)));
}

export function deleteAllPasskeys(db: Database, owner: PasskeyOwner): Statement {
  return db.delete(webauthnCredentials).where(ownedBy(owner));
}

/** The name a person gives a passkey; a default when they give none. */
export function passkeyName(input: string | undefined, fallback = "Passkey"): string {
  const name = (input ?? "").replace(/\p{Cc}/gu, " ").trim().slice(0, 60);
  return name || fallback;
}
