// What staff see and change about a contact's portal access (PRODUCT.md "Contacts › Details").
// Each change is one D1 batch: the change, the sessions it ends, the audit event and the emails.
import { and, eq, isNull, ne, or, sql, type Placeholder, type SQL } from "drizzle-orm";
import { accessLinks, auditEvents, contacts, outbox, portalAccounts, sessions, webauthnCredentials } from "../../../db/schema";
import { revokeContactLinks } from "../portal/access-links.server";
import { auditEvent, auditRow } from "../audit.server";
import { insertWhere, runBatch, type Database } from "../db.server";
import { securityNoticeEmail } from "../emails.server";
import { lastSettledEmailSql } from "../outbox-delivery.server";
import { outboxRow, queueEmail } from "../outbox.server";
import { deleteRecoveryCodes } from "../auth/recovery-codes.server";
import { disableTotp } from "../auth/second-factor.server";
import { deleteAllPasskeys } from "../auth/passkey-owners.server";
import { credentialsUnchanged, deleteContactSessions, firmStatement, revokeContactCredentials, type FirmOf } from "../auth/sessions.server";
import type { RequestMeta as Meta } from "../request-meta.server";
import type { Result } from "../result";
import { auditActorOf, type Acting } from "../acting.server";
import type { StaffAuth } from "./staff-auth.server";
import { type Read } from "../read-batch.server";

// drizzle leaves a single-table query's columns unqualified, so the correlated subqueries name them in full.
const contactId_ = sql`"contacts"."id"`;
const accountEmail = sql`(SELECT "pa"."email" FROM ${portalAccounts} AS "pa" WHERE "pa"."contact_id" = ${contactId_})`;

/** The contact with counts of live sessions and links, the last invite and the last settled email. */
function contactQuery(db: Database, firm: SQL | Placeholder, contactId: Placeholder, now: Placeholder) {
  return db
    .select({
      contact: contacts,
      activeSessions: sql<number>`(SELECT count(*) FROM ${sessions} AS "s" WHERE "s"."contact_id" = ${contactId_} AND "s"."expires_at" > ${now})`.as("active_sessions"),
      activeLinks: sql<number>`(SELECT count(*) FROM ${accessLinks} AS "l" WHERE "l"."contact_id" = ${contactId_}
        AND "l"."revoked_at" IS NULL AND "l"."claimed_at" IS NULL AND "l"."expires_at" > ${now})`.as("active_links"),
      // "Invited <date>": the latest portal invite, single or bulk.
      invitedAt: sql<number | null>`(SELECT max("l"."created_at") FROM ${accessLinks} AS "l" WHERE "l"."contact_id" = ${contactId_} AND "l"."purpose" = 'invite')`.as("invited_at"),
      lastSettledEmail: lastSettledEmailSql(sql`"contacts"."firm_id"`, [sql`"contacts"."email"`, accountEmail]).as("last_settled_email"),
    })
    .from(contacts)
    .where(and(eq(contacts.id, contactId), eq(contacts.firmId, firm)))
    .limit(1);
}

/** The contact's portal account with its passkeys (PRODUCT.md "Passkeys"): how many, and when one was last used. */
function accountQuery(db: Database, firm: SQL | Placeholder, contactId: Placeholder) {
  return db
    .select({
      account: portalAccounts,
      passkeys: sql<number>`(SELECT count(*) FROM ${webauthnCredentials} AS "w" WHERE "w"."portal_account_id" = "portal_accounts"."id")`
        .mapWith(Number)
        .as("passkeys"),
      passkeyLastUsedAt: sql<number | null>`(SELECT max("w"."last_used_at") FROM ${webauthnCredentials} AS "w" WHERE "w"."portal_account_id" = "portal_accounts"."id")`.as(
        "passkey_last_used_at",
      ),
    })
    .from(portalAccounts)
    .where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, firm)))
    .limit(1);
}

/**
 * Built once per isolate (statements.server.ts): the Details tab is the staff's most used page. The firm
 * is the staff session's (so the reads travel with the session lookup) or, for the API, the key's firm.
 */
const accessContact = firmStatement(["contactId", "now"], (db, p, firm) => contactQuery(db, firm, p.contactId, p.now));
const accessAccount = firmStatement(["contactId"], (db, p, firm) => accountQuery(db, firm, p.contactId));

/**
 * A contact (deleted ones too, so they can be restored) with their portal account, live sessions and
 * unused links: two single-table reads in the request's batch (a join's same-named columns cannot be told
 * apart in a D1 batch).
 */
export async function contactWithAccess(read: Read, firm: FirmOf, contactId: string, now = Date.now()) {
  const [[row], [account]] = await Promise.all([read(accessContact(firm, { contactId, now })), read(accessAccount(firm, { contactId }))]);
  return row ? { ...row, account: account?.account ?? null, passkeys: account?.passkeys ?? 0, passkeyLastUsedAt: account?.passkeyLastUsedAt ?? null } : null;
}

async function loadAccount(db: Database, firmId: string, contactId: string) {
  const [row] = await db
    .select({ contact: contacts, account: portalAccounts })
    .from(contacts)
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(and(eq(contacts.id, contactId), eq(contacts.firmId, firmId), isNull(contacts.deletedAt)))
    .limit(1);
  return row ?? null;
}

function staffActor(auth: Acting) {
  return auditActorOf(auth);
}

export type AdminResult = Result<{ message: string }>;

export const LOGIN_EMAIL_CONFLICT = "The login details of this client changed while you were editing. Reload the page and try again.";

/**
 * Changes the login email (and the contact's address on file, which links and notices go to). Both
 * addresses are told, the old one without the new address. Every session ends and nothing mailed before
 * works any more (SECURITY.md rule 27).
 *
 * The change is one batch guarded by the contact's credential epoch as it was read, and the batch's last
 * statement raises that epoch: of two admins changing the same login at once, exactly one batch writes
 * anything, and the audit event and emails always describe the change that happened.
 */
export async function changeLoginEmail(
  db: Database,
  auth: StaffAuth,
  contactId: string,
  change: { email: string; currentEmail: string },
  meta: Meta,
): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  if (!row.account) return { ok: false, status: 409, error: "This contact has no portal account yet." };
  const { contact, account } = row;
  const newEmail = change.email;
  // The admin decided on the page they saw; if another change landed since, they decide again.
  if (change.currentEmail !== account.email) return { ok: false, status: 409, error: LOGIN_EMAIL_CONFLICT };
  if (newEmail === account.email) return { ok: false, status: 422, error: "That is already the login email." };
  // Another login, or another contact, with that address would make "the contact's address" ambiguous for
  // every email-typed form (sign-in, links, resets).
  const [taken] = await db
    .select({ id: contacts.id })
    .from(contacts)
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(
      and(
        eq(contacts.firmId, auth.firm.id),
        ne(contacts.id, contact.id),
        or(and(eq(sql`lower(${contacts.email})`, newEmail.toLowerCase()), isNull(contacts.deletedAt)), eq(portalAccounts.email, newEmail)),
      ),
    )
    .limit(1);
  if (taken) return { ok: false, status: 409, error: "Another client of your firm already uses that email." };
  const now = Date.now();
  const guard = credentialsUnchanged(contact.id, contact.credentialEpoch);
  const notice = (to: string, body: string[]) =>
    insertWhere(
      db,
      outbox,
      outboxRow(securityNoticeEmail({ firm: auth.firm, to, name: contact.name, subject: "your login email was changed", body }), now),
      guard,
    );
  let results;
  try {
    results = await db.batch([
      db.update(portalAccounts).set({ email: newEmail }).where(and(eq(portalAccounts.id, account.id), guard)),
      deleteContactSessions(db, contact.id, undefined, guard),
      insertWhere(
        db,
        auditEvents,
        auditRow({
          firmId: auth.firm.id,
          type: "client.login_email_changed",
          actor: staffActor(auth),
          contactId: contact.id,
          detail: { from: account.email, to: newEmail },
          at: now,
          ...meta,
        }),
        guard,
      ),
      // The old address learns that it no longer signs in, not where the login went.
      notice(account.email, [
        `${auth.firm.name} changed the email address you sign in to the portal with. This address (${account.email}) no longer signs in,`,
        "links and password-reset emails sent to it no longer work, and every device was signed out.",
      ]),
      notice(newEmail, [`${auth.firm.name} changed the email you sign in with to ${newEmail}.`, "Every device was signed out."]),
      // Last: the address on file follows (links and notices go there) and the epoch rises, voiding what was mailed before.
      db
        .update(contacts)
        .set({ email: newEmail, credentialEpoch: sql`${contacts.credentialEpoch} + 1` })
        .where(and(eq(contacts.id, contact.id), eq(contacts.credentialEpoch, contact.credentialEpoch)))
        .returning({ id: contacts.id }),
    ]);
  } catch (error) {
    // A parallel change took the address first: the unique login-email index refused the whole batch.
    if (String(error).includes("UNIQUE")) return { ok: false, status: 409, error: "Another client of your firm already uses that email." };
    throw error;
  }
  if (results[5].length !== 1) return { ok: false, status: 409, error: LOGIN_EMAIL_CONFLICT };
  return { ok: true, message: `The login email is now ${newEmail}. Both addresses were told, and every device was signed out.` };
}

/**
 * Deactivates the client's 2FA: the secret and recovery codes are deleted, their sessions end, they are
 * emailed, and they set 2FA up again at their next sign-in where it is required. Staff never see a secret.
 */
export async function deactivateTwoFactor(db: Database, auth: Acting, contactId: string, reason: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  if (!row.account?.totpEnabledAt) return { ok: false, status: 409, error: "Two-factor authentication is not on for this client." };
  const { contact, account } = row;
  await runBatch(db, [
    disableTotp(db, { kind: "portal", id: account.id, firmId: auth.firm.id }),
    deleteRecoveryCodes(db, account.id),
    ...revokeContactCredentials(db, contact.id),
    auditEvent(db, { firmId: auth.firm.id, type: "client.two_factor_reset", actor: staffActor(auth), contactId: contact.id, detail: { reason }, ...meta }),
    queueEmail(
      db,
      securityNoticeEmail({
        firm: auth.firm,
        to: account.email,
        name: contact.name,
        subject: "two-factor authentication was reset",
        body: [
          `${auth.firm.name} turned off two-factor authentication on your portal login, and every device was signed out.`,
          "Sign in with your password to set it up again with your authenticator app.",
        ],
      }),
    ),
  ]);
  return { ok: true, message: "Two-factor authentication was deactivated. The client was signed out and emailed." };
}

/**
 * Removes every passkey of the client, as deactivating 2FA does for the app (PRODUCT.md "Passkeys"): their
 * sessions end, nothing mailed before works, they are emailed, the reason is logged. A client who lost the
 * device then signs in with their password and sets up a second factor again where the firm requires one.
 */
export async function removeClientPasskeys(db: Database, auth: Acting, contactId: string, reason: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  if (!row.account) return { ok: false, status: 409, error: "This contact has no portal account yet." };
  const { contact, account } = row;
  const [count] = await db
    .select({ n: sql<number>`count(*)` })
    .from(webauthnCredentials)
    .where(and(eq(webauthnCredentials.portalAccountId, account.id), eq(webauthnCredentials.firmId, auth.firm.id)));
  if (!count?.n) return { ok: false, status: 409, error: "This client has no passkeys." };
  await runBatch(db, [
    deleteAllPasskeys(db, { kind: "portal", id: account.id, firmId: auth.firm.id }),
    ...revokeContactCredentials(db, contact.id),
    auditEvent(db, { firmId: auth.firm.id, type: "client.passkeys_removed", actor: staffActor(auth), contactId: contact.id, detail: { reason, count: count.n }, ...meta }),
    queueEmail(
      db,
      securityNoticeEmail({
        firm: auth.firm,
        to: account.email,
        name: contact.name,
        subject: "your passkeys were removed",
        body: [
          `${auth.firm.name} removed the passkeys of your portal login, and every device was signed out.`,
          "Sign in with your password; you can add a passkey again from your account page.",
        ],
      }),
    ),
  ]);
  return { ok: true, message: "The client's passkeys were removed. The client was signed out and emailed." };
}

export async function signOutEverywhere(db: Database, auth: Acting, contactId: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  await runBatch(db, [
    ...revokeContactCredentials(db, contactId),
    auditEvent(db, { firmId: auth.firm.id, type: "client.signed_out_everywhere", actor: staffActor(auth), contactId, ...meta }),
  ]);
  return { ok: true, message: "The client was signed out of every device, and links emailed before no longer work." };
}

export async function revokeAccessLinks(db: Database, kv: KVNamespace, auth: StaffAuth, contactId: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  await runBatch(db, [
    ...(await revokeContactLinks(db, kv, contactId)),
    auditEvent(db, { firmId: auth.firm.id, type: "access_link.revoked", actor: staffActor(auth), contactId, ...meta }),
  ]);
  return { ok: true, message: "Every access link of this client was revoked, and their link sessions ended." };
}
