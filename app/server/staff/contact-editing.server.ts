// Staff add and edit contacts (PRODUCT.md "Contacts and onboarding"). Staff members and admins both
// may: contacts are members' daily work. The email is unique per firm among live contacts, whatever
// its case; D1 enforces it with a partial unique index, so two parallel creates give one contact.
//
// The email of a contact with a portal login is their login email, and only Edit login details
// (admins, re-authenticated) changes it, through changeLoginEmail: this form refuses and points
// there (docs/decisions/012-contact-email-and-login-email.md). For a contact without a login, a new
// address ends everything mailed to the old one: access links, link sessions and account tokens.
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { accountTokens, contacts, portalAccounts } from "../../../db/schema";
import { revokeContactLinks } from "../portal/access-links.server";
import { auditEvent } from "../audit.server";
import { generateId } from "../crypto.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { emailField } from "../fields";
import type { RequestMeta as Meta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import { deleteContactSessions } from "../auth/sessions.server";
import { auditActorOf, type Acting } from "../acting.server";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

const optionalText = (max: number, label: string) =>
  z
    .string({ invalid_type_error: `Enter the ${label} as text.` })
    .trim()
    .max(max, `Keep the ${label} under ${max} characters.`)
    .optional()
    .transform((value) => (value ? value : null));

export const contactFormSchema = z.object({
  name: z
    .string({ required_error: "Enter a name.", invalid_type_error: "Enter a name." })
    .trim()
    .min(1, "Enter a name.")
    .max(200, "Keep the name under 200 characters."),
  email: emailField,
  phone: optionalText(40, "phone number").refine((value) => value === null || /^[0-9+().\-\s/x]{3,40}$/i.test(value), {
    message: "Enter a phone number with digits, spaces and + ( ) - only.",
  }),
  company: optionalText(200, "company or entity name"),
  notes: optionalText(5000, "notes"),
});

export type ContactInput = z.infer<typeof contactFormSchema>;

export const EMAIL_TAKEN = "Another contact of your firm already uses this email.";
export const EMAIL_IS_LOGIN =
  "This contact signs in to the portal with this email. An admin can change it with Edit login details, which changes the login email and tells both addresses.";

export type ContactSaveResult = Result<{ contactId: string }>;

function staffActor(auth: Acting) {
  return auditActorOf(auth);
}

/** D1's answer when the live-email index refuses a row (the only unique index a contact write can hit). */
function isEmailTaken(error: unknown): boolean {
  const message = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : String(error);
  return /UNIQUE constraint failed/i.test(message) && /contacts_firm_live_email_idx|contacts\.firm_id/i.test(message);
}

function taken(): ContactSaveResult {
  return refuse(409, EMAIL_TAKEN, { email: EMAIL_TAKEN });
}

async function emailInUse(db: Database, firmId: string, email: string, exceptId?: string): Promise<boolean> {
  const row = await db.query.contacts.findFirst({
    columns: { id: true },
    where: and(eq(contacts.firmId, firmId), isNull(contacts.deletedAt), eq(sql`lower(${contacts.email})`, email.toLowerCase())),
  });
  return row !== undefined && row.id !== exceptId;
}

/** Adds a contact, with its audit event in the same batch. */
export async function createContact(db: Database, auth: Acting, input: ContactInput, meta: Meta): Promise<ContactSaveResult> {
  // A friendly answer in the common case; the unique index decides races.
  if (await emailInUse(db, auth.firm.id, input.email)) return taken();
  const id = generateId();
  try {
    await runBatch(db, [
      db.insert(contacts).values({ id, firmId: auth.firm.id, ...input }),
      auditEvent(db, { firmId: auth.firm.id, type: "contact.created", actor: staffActor(auth), contactId: id, ...meta }),
    ]);
  } catch (error) {
    if (isEmailTaken(error)) return taken();
    throw error;
  }
  return { ok: true, contactId: id };
}

export async function loadEditableContact(db: Database, firmId: Ref, contactId: string, read: Read = direct) {
  // One table and a subquery: batchable with the page's session lookup (read-batch.server.ts).
  const [row] = await read(
    db
      .select({
        contact: contacts,
        accountId: sql<string | null>`(SELECT "pa"."id" FROM ${portalAccounts} AS "pa" WHERE "pa"."contact_id" = "contacts"."id")`.as("account_id"),
      })
      .from(contacts)
      .where(and(eq(contacts.id, contactId), eq(contacts.firmId, firmId), isNull(contacts.deletedAt)))
      .limit(1),
  );
  return row ?? null;
}

/**
 * Saves the edit form. The audit event names the fields that changed (not their values: notes are
 * private), and the old and new address when the email changed.
 */
export async function updateContact(
  db: Database,
  kv: KVNamespace,
  auth: Acting,
  contactId: string,
  input: ContactInput,
  meta: Meta,
  now = Date.now(),
): Promise<ContactSaveResult> {
  const row = await loadEditableContact(db, auth.firm.id, contactId);
  if (!row) return refuse(404, "Contact not found.");
  const { contact } = row;
  const newAddress = input.email.toLowerCase() !== contact.email.toLowerCase();
  if (newAddress && row.accountId) return refuse(409, EMAIL_IS_LOGIN, { email: EMAIL_IS_LOGIN });
  if (newAddress && (await emailInUse(db, auth.firm.id, input.email, contact.id))) return taken();
  // A login's email keeps its stored form (it is changed only by Edit login details).
  const email = row.accountId ? contact.email : input.email;
  const changed = (["name", "email", "phone", "company", "notes"] as const).filter((field) =>
    field === "email" ? email !== contact.email : (input[field] ?? null) !== (contact[field] ?? null),
  );
  if (changed.length === 0) return { ok: true, contactId };
  const statements: Statement[] = [
    db
      .update(contacts)
      .set({ name: input.name, email, phone: input.phone, company: input.company, notes: input.notes })
      .where(and(eq(contacts.id, contact.id), eq(contacts.firmId, auth.firm.id))),
  ];
  if (newAddress) {
    // Whatever was mailed to the old address stops working: links (and the sessions opened with
    // them), every client session, and unused verification or reset tokens.
    statements.push(
      ...(await revokeContactLinks(db, kv, contact.id, now)),
      deleteContactSessions(db, contact.id),
      db
        .update(accountTokens)
        .set({ usedAt: now })
        .where(and(eq(accountTokens.contactId, contact.id), eq(accountTokens.firmId, auth.firm.id), isNull(accountTokens.usedAt))),
    );
  }
  statements.push(
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "contact.updated",
      actor: staffActor(auth),
      contactId: contact.id,
      detail: { fields: changed, ...(newAddress ? { from: contact.email, to: email } : {}) },
      ...meta,
      at: now,
    }),
  );
  try {
    await runBatch(db, statements);
  } catch (error) {
    if (isEmailTaken(error)) return taken();
    throw error;
  }
  return { ok: true, contactId };
}
