// What staff see and change about a contact's portal access (PRODUCT.md "Contacts › Details").
// Each change is one D1 batch: the change, the sessions it ends, the audit event and the emails.
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { accessLinks, contacts, portalAccounts, sessions } from "../../db/schema";
import { revokeContactLinks } from "./access-links.server";
import { auditEvent } from "./audit.server";
import { runBatch, type Database } from "./db.server";
import { securityNoticeEmail } from "./emails.server";
import { lastSettledEmailSql, queueEmail } from "./outbox.server";
import { deleteRecoveryCodes } from "./recovery-codes.server";
import { disableTotp } from "./second-factor.server";
import { deleteContactSessions } from "./sessions.server";
import type { StaffAuth } from "./staff-auth.server";

type Meta = { ip: string; userAgent: string };

/**
 * A contact (deleted ones too, so they can be restored) with their portal account and live sessions and
 * unused links, in one query: the Details tab stays within the page budget of three D1 queries.
 */
export async function contactWithAccess(db: Database, firmId: string, contactId: string, now = Date.now()) {
  const [row] = await db
    .select({
      contact: contacts,
      account: portalAccounts,
      activeSessions: sql<number>`(SELECT count(*) FROM ${sessions} WHERE ${sessions.contactId} = ${contacts.id} AND ${sessions.expiresAt} > ${now})`,
      activeLinks: sql<number>`(SELECT count(*) FROM ${accessLinks} WHERE ${accessLinks.contactId} = ${contacts.id}
        AND ${accessLinks.revokedAt} IS NULL AND ${accessLinks.claimedAt} IS NULL AND ${accessLinks.expiresAt} > ${now})`,
      // In this one query: the contact page has a budget of 3 queries (issue 7).
      lastSettledEmail: lastSettledEmailSql(contacts.firmId, [contacts.email, portalAccounts.email]),
    })
    .from(contacts)
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(and(eq(contacts.id, contactId), eq(contacts.firmId, firmId)))
    .limit(1);
  return row ?? null;
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

function staffActor(auth: StaffAuth) {
  return { type: "staff" as const, id: auth.staff.id, label: auth.staff.email };
}

export type AdminResult = { ok: true; message: string } | { ok: false; status: 404 | 409 | 422; error: string };

/** Changes the login email; the old and the new address are both told. */
export async function changeLoginEmail(db: Database, auth: StaffAuth, contactId: string, newEmail: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  if (!row.account) return { ok: false, status: 409, error: "This contact has no portal account yet." };
  const { contact, account } = row;
  if (newEmail === account.email) return { ok: false, status: 422, error: "That is already the login email." };
  const taken = await db.query.portalAccounts.findFirst({
    where: and(eq(portalAccounts.firmId, auth.firm.id), eq(portalAccounts.email, newEmail), ne(portalAccounts.id, account.id)),
  });
  if (taken) return { ok: false, status: 409, error: "Another portal account of your firm already uses that email." };
  const notice = (to: string) =>
    queueEmail(
      db,
      securityNoticeEmail({
        firm: auth.firm,
        to,
        name: contact.name,
        subject: "your login email was changed",
        body: [`${auth.firm.name} changed the email you sign in with from ${account.email} to ${newEmail}.`, "Every device was signed out."],
      }),
    );
  await runBatch(db, [
    db.update(portalAccounts).set({ email: newEmail }).where(eq(portalAccounts.id, account.id)),
    // The contact's address on file follows, so links and notices go to the new address too.
    db.update(contacts).set({ email: newEmail }).where(eq(contacts.id, contact.id)),
    deleteContactSessions(db, contact.id),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "client.login_email_changed",
      actor: staffActor(auth),
      contactId: contact.id,
      detail: { from: account.email, to: newEmail },
      ...meta,
    }),
    notice(account.email),
    notice(newEmail),
  ]);
  return { ok: true, message: `The login email is now ${newEmail}. Both addresses were told, and every device was signed out.` };
}

/**
 * Deactivates the client's 2FA: the secret and recovery codes are deleted, their sessions end, they are
 * emailed, and they set 2FA up again at their next sign-in where it is required. Staff never see a secret.
 */
export async function deactivateTwoFactor(db: Database, auth: StaffAuth, contactId: string, reason: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  if (!row.account?.totpEnabledAt) return { ok: false, status: 409, error: "Two-factor authentication is not on for this client." };
  const { contact, account } = row;
  await runBatch(db, [
    disableTotp(db, { kind: "portal", id: account.id, firmId: auth.firm.id }),
    deleteRecoveryCodes(db, account.id),
    deleteContactSessions(db, contact.id),
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

export async function signOutEverywhere(db: Database, auth: StaffAuth, contactId: string, meta: Meta): Promise<AdminResult> {
  const row = await loadAccount(db, auth.firm.id, contactId);
  if (!row) return { ok: false, status: 404, error: "Contact not found." };
  await runBatch(db, [
    deleteContactSessions(db, contactId),
    auditEvent(db, { firmId: auth.firm.id, type: "client.signed_out_everywhere", actor: staffActor(auth), contactId, ...meta }),
  ]);
  return { ok: true, message: "The client was signed out of every device." };
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
