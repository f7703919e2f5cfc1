// Contacts of one firm. Every query takes the firm id: a contact id from another firm finds nothing.
import { and, asc, eq, gt, isNotNull, isNull, or, sql } from "drizzle-orm";
import { contacts, portalAccounts } from "../../db/schema";
import { revokeContactLinks } from "./access-links.server";
import { auditEvent } from "./audit.server";
import { runBatch, type Database } from "./db.server";
import { revokeContactCredentials } from "./sessions.server";

export const CONTACTS_PAGE_SIZE = 50;

import type { ContactFilter } from "~/lib/contact-filters";

export type ContactRow = {
  id: string;
  name: string;
  email: string;
  accountEmail: string | null;
  totpEnabledAt: number | null;
  lastSignInAt: number | null;
};

function filterCondition(filter: ContactFilter) {
  switch (filter) {
    case "has_account":
      return isNotNull(portalAccounts.id);
    case "no_account":
      return isNull(portalAccounts.id);
    case "two_factor_on":
      return isNotNull(portalAccounts.totpEnabledAt);
    case "two_factor_off":
      return and(isNotNull(portalAccounts.id), isNull(portalAccounts.totpEnabledAt));
    default:
      return undefined;
  }
}

/**
 * One page of contacts, ordered by name, with keyset pagination (`after` is the last row's
 * "name\u0000id"), so page 200 of 10,000 contacts costs what page 1 costs.
 */
export async function listContacts(
  db: Database,
  firmId: string,
  options: { search?: string; filter?: ContactFilter; after?: string | null; limit?: number; deleted?: boolean } = {},
): Promise<{ rows: ContactRow[]; next: string | null }> {
  const limit = options.limit ?? CONTACTS_PAGE_SIZE;
  const search = options.search?.trim();
  const [afterName, afterId] = options.after ? options.after.split("\u0000") : [];
  const rows = await db
    .select({
      id: contacts.id,
      name: contacts.name,
      email: contacts.email,
      accountEmail: portalAccounts.email,
      totpEnabledAt: portalAccounts.totpEnabledAt,
      lastSignInAt: portalAccounts.lastSignInAt,
    })
    .from(contacts)
    .leftJoin(portalAccounts, and(eq(portalAccounts.contactId, contacts.id), isNull(portalAccounts.deactivatedAt)))
    .where(
      and(
        eq(contacts.firmId, firmId),
        // Deleted contacts are listed only on their own view, where they can be restored.
        options.deleted ? isNotNull(contacts.deletedAt) : isNull(contacts.deletedAt),
        search ? or(containsText(contacts.name, search), containsText(contacts.email, search)) : undefined,
        filterCondition(options.filter ?? "all"),
        afterName !== undefined && afterId !== undefined
          ? or(gt(contacts.name, afterName), and(eq(contacts.name, afterName), gt(contacts.id, afterId)))
          : undefined,
      ),
    )
    .orderBy(asc(contacts.name), asc(contacts.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > limit && last ? `${last.name}\u0000${last.id}` : null };
}

/** `column LIKE '%text%'` with the text matched literally: "_" and "%" are common in emails. */
function containsText(column: typeof contacts.name | typeof contacts.email, text: string) {
  // drizzle's like() has no ESCAPE clause, so the clause is written out.
  const pattern = `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql`${column} LIKE ${pattern} ESCAPE '\\'`;
}

export type ContactDetails = {
  contact: typeof contacts.$inferSelect;
  account: typeof portalAccounts.$inferSelect | null;
};

export async function getContact(db: Database, firmId: string, contactId: string): Promise<ContactDetails | null> {
  const [row] = await db
    .select({ contact: contacts, account: portalAccounts })
    .from(contacts)
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(and(eq(contacts.id, contactId), eq(contacts.firmId, firmId)))
    .limit(1);
  return row ?? null;
}

export function countContacts(db: Database, firmId: string) {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(contacts)
    .where(and(eq(contacts.firmId, firmId), isNull(contacts.deletedAt)));
}

type StaffActor = { firm: { id: string }; staff: { id: string; email: string } };

/**
 * Deleting a contact deactivates their portal login (kept, so restoring brings it back), ends their
 * sessions and revokes their links, in one batch with the audit event.
 */
export async function deleteContact(db: Database, kv: KVNamespace, auth: StaffActor, contactId: string, meta: { ip: string; userAgent: string }) {
  const now = Date.now();
  await runBatch(db, [
    db.update(contacts).set({ deletedAt: now }).where(and(eq(contacts.id, contactId), eq(contacts.firmId, auth.firm.id))),
    db.update(portalAccounts).set({ deactivatedAt: now }).where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, auth.firm.id))),
    // Ends sessions and voids everything mailed before, for good: restoring the contact brings back the
    // login, not the links and tokens.
    ...revokeContactCredentials(db, contactId),
    ...(await revokeContactLinks(db, kv, contactId, now)),
    auditEvent(db, { firmId: auth.firm.id, type: "contact.deleted", actor: { type: "staff", id: auth.staff.id, label: auth.staff.email }, contactId, ...meta }),
  ]);
}

/** Restoring a contact restores their portal login as it was (password and 2FA included). */
export async function restoreContact(db: Database, auth: StaffActor, contactId: string, meta: { ip: string; userAgent: string }) {
  await runBatch(db, [
    db.update(contacts).set({ deletedAt: null }).where(and(eq(contacts.id, contactId), eq(contacts.firmId, auth.firm.id))),
    db.update(portalAccounts).set({ deactivatedAt: null }).where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, auth.firm.id))),
    auditEvent(db, { firmId: auth.firm.id, type: "contact.restored", actor: { type: "staff", id: auth.staff.id, label: auth.staff.email }, contactId, ...meta }),
  ]);
}
