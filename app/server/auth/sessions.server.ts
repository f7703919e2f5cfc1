// Sessions for staff and clients. The cookie holds "<id>.<secret>"; D1 holds only SHA-256(secret),
// so a leaked sessions row cannot be replayed as a cookie.
import { and, eq, inArray, ne, sql, type Placeholder, type SQL } from "drizzle-orm";
import { contacts, sessions, type SessionKind } from "../../../db/schema";
import { constantTimeEqual, generateToken, sha256Hex } from "../crypto.server";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database, Statement } from "../db.server";
import { statement, type Statement as StatementOf } from "../statements.server";
import type { Session } from "../types";

export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;
export const LINK_SESSION_MS = 30 * 24 * 60 * 60_000;
/** A page view writes nothing in the common case: last-seen moves at most this often. */
export const TOUCH_INTERVAL_MS = 5 * 60_000;

export type NewSession = {
  kind: SessionKind;
  firmId: string;
  staffUserId?: string | null;
  portalAccountId?: string | null;
  contactId?: string | null;
  accessLinkId?: string | null;
  twoFactorVerifiedAt?: number | null;
  reauthenticatedAt?: number | null;
  expiresAt?: number;
  ip?: string | null;
  userAgent?: string | null;
};

export type IssuedSession = { token: string; session: Session; insert: Statement };

/** Builds a session; nothing is written until the caller runs `insert` (usually in a batch). */
export async function issueSession(db: Database, input: NewSession, now = Date.now()): Promise<IssuedSession> {
  const id = crypto.randomUUID();
  const secret = generateToken();
  const session: Session = {
    id,
    secretHash: await sha256Hex(secret),
    kind: input.kind,
    firmId: input.firmId,
    staffUserId: input.staffUserId ?? null,
    portalAccountId: input.portalAccountId ?? null,
    contactId: input.contactId ?? null,
    accessLinkId: input.accessLinkId ?? null,
    twoFactorVerifiedAt: input.twoFactorVerifiedAt ?? null,
    reauthenticatedAt: input.reauthenticatedAt ?? null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: input.expiresAt ?? now + ABSOLUTE_TIMEOUT_MS,
    ip: input.ip ?? null,
    userAgent: input.userAgent ? input.userAgent.slice(0, 300) : null,
  };
  return { token: `${id}.${secret}`, session, insert: db.insert(sessions).values(session) };
}

/**
 * Replaces a session by a new one with a new token (sign-in step done, 2FA passed, re-authenticated),
 * so a token seen before the privilege change is worthless after it.
 */
export async function rotateSession(
  db: Database,
  old: Session,
  changes: Partial<Pick<Session, "twoFactorVerifiedAt" | "reauthenticatedAt" | "portalAccountId" | "kind" | "expiresAt">>,
  now = Date.now(),
): Promise<{ token: string; session: Session; statements: Statement[] }> {
  const { token, session, insert } = await issueSession(
    db,
    {
      kind: changes.kind ?? old.kind,
      firmId: old.firmId,
      staffUserId: old.staffUserId,
      portalAccountId: changes.portalAccountId !== undefined ? changes.portalAccountId : old.portalAccountId,
      contactId: old.contactId,
      accessLinkId: old.accessLinkId,
      twoFactorVerifiedAt: changes.twoFactorVerifiedAt !== undefined ? changes.twoFactorVerifiedAt : old.twoFactorVerifiedAt,
      reauthenticatedAt: changes.reauthenticatedAt !== undefined ? changes.reauthenticatedAt : old.reauthenticatedAt,
      expiresAt: changes.expiresAt ?? old.expiresAt,
      ip: old.ip,
      userAgent: old.userAgent,
    },
    now,
  );
  session.createdAt = old.createdAt;
  return { token, session, statements: [db.delete(sessions).where(eq(sessions.id, old.id)), insert] };
}

function parseToken(token: string): { id: string; secret: string } | null {
  const dot = token.indexOf(".");
  if (dot < 1 || token.length > 200) return null;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

export type SessionState = "valid" | "expired" | "idle" | "invalid";

/** Checks a session row against its token and the clock. Pure, so every caller applies the same rules. */
export async function checkSession(row: Session | undefined, secret: string, now: number): Promise<SessionState> {
  if (!row) return "invalid";
  if (!constantTimeEqual(row.secretHash, await sha256Hex(secret))) return "invalid";
  if (now >= row.expiresAt) return "expired";
  // Link sessions live 30 days from the claim; password sessions also time out when idle.
  if (row.kind !== "client_link" && now - row.lastSeenAt > IDLE_TIMEOUT_MS) return "idle";
  return "valid";
}

export function tokenParts(token: string | null | undefined) {
  return token ? parseToken(token) : null;
}

/**
 * A column of the session row with this id, as SQL: `(SELECT firm_id FROM sessions WHERE id = ?)`. A page's
 * query names its firm (or contact) this way so it can travel in the same batch as the session lookup
 * (issue 14: one round trip per page view). Rows read this way are only used once the session itself has
 * been checked (see `staffPage`, `portalPage`); with an unknown id the subquery is NULL and matches nothing.
 */
export function ofSession(sessionId: string | Placeholder, column: typeof sessions.firmId | typeof sessions.contactId | typeof sessions.staffUserId): SQL {
  return sql`(SELECT "s"."${sql.raw(column.name)}" FROM "sessions" AS "s" WHERE "s"."id" = ${sessionId})`;
}

/**
 * Whose firm a staff read is about: the staff session's, named by its id so the read travels in the
 * session's round trip (`staffPage`), or a firm's id (the API, actions, scripts).
 */
export type FirmOf = { sessionId: string } | { firmId: string };

/**
 * A statement (statements.server.ts) about one firm, for either kind of `FirmOf`: `build` gets the firm as
 * SQL and is used for two statements, one naming the firm by session id and one by firm id, each built on
 * first use.
 */
export function firmStatement<V extends string, Q extends BatchItem<"sqlite">>(
  names: readonly V[],
  build: (db: Database, p: Record<V, Placeholder>, firm: SQL | Placeholder) => Q,
): (firm: FirmOf, values: Record<V, unknown>) => StatementOf<Awaited<Q>> {
  const withFirm = [...names, "firm"] as const;
  const bySession = statement(withFirm, (db, p) => build(db, p, ofSession(p.firm, sessions.firmId)));
  const byId = statement(withFirm, (db, p) => build(db, p, p.firm));
  return (firm, values) => ("sessionId" in firm ? bySession({ ...values, firm: firm.sessionId }) : byId({ ...values, firm: firm.firmId }));
}

/** Moves last-seen forward, at most once per TOUCH_INTERVAL_MS. */
export async function touchSession(db: Database, session: Session, now = Date.now()): Promise<void> {
  if (now - session.lastSeenAt < TOUCH_INTERVAL_MS) return;
  await db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, session.id));
}

export function deleteSession(db: Database, id: string) {
  return db.delete(sessions).where(eq(sessions.id, id));
}

export function deleteStaffSessions(db: Database, staffUserId: string, exceptId?: string) {
  return db
    .delete(sessions)
    .where(exceptId ? and(eq(sessions.staffUserId, staffUserId), ne(sessions.id, exceptId)) : eq(sessions.staffUserId, staffUserId));
}

/**
 * Every client session of a contact: password sessions of their account and their link sessions.
 * `onlyIf` makes the delete part of a batch that must not run when a guard (see `credentialsUnchanged`) fails.
 */
export function deleteContactSessions(db: Database, contactId: string, exceptId?: string, onlyIf?: SQL) {
  const ofContact = and(eq(sessions.contactId, contactId), inArray(sessions.kind, ["client_password", "client_link", "client_passkey"]));
  return db.delete(sessions).where(and(ofContact, exceptId ? ne(sessions.id, exceptId) : undefined, onlyIf));
}

// ---------------------------------------------------------------------------------------------
// Revocation (SECURITY.md rule 27). Ending sessions is not enough: what was mailed before (unclaimed links,
// a claimed link that its browser can re-post, reset and verification tokens) must stop working too.
// Each revoking action raises the contact's credential epoch in its own batch; links and tokens carry the
// epoch they were mailed under and are refused once it differs (see docs/decisions/009).

/** The revoking part of an action's batch: every session of the contact ends and nothing mailed before works. */
export function revokeContactCredentials(db: Database, contactId: string): Statement[] {
  return [deleteContactSessions(db, contactId), voidMailedCredentials(db, contactId)];
}

/**
 * Raises the contact's credential epoch. With `expectedEpoch`, only if it still has that value: the statement
 * then changes one row or none, which tells a batch guarded by `credentialsUnchanged` whether it won.
 */
export function voidMailedCredentials(db: Database, contactId: string, expectedEpoch?: number) {
  return db
    .update(contacts)
    .set({ credentialEpoch: sql`${contacts.credentialEpoch} + 1` })
    .where(and(eq(contacts.id, contactId), expectedEpoch === undefined ? undefined : eq(contacts.credentialEpoch, expectedEpoch)))
    .returning({ id: contacts.id });
}

/**
 * True while no revoking action has run since the contact was read with `epoch`. Writes of a batch that
 * acts on a credential carry it, so a revocation that commits between the read and the batch wins.
 */
export function credentialsUnchanged(contactId: string, epoch: number): SQL {
  return sql`EXISTS (SELECT 1 FROM "contacts" AS guard WHERE guard.id = ${contactId} AND guard.credential_epoch = ${epoch})`;
}
