// The staff's reads of requests: the firm's list (keyset-paginated), one request with its activity,
// and the contact pickers. Every query takes the firm id: another firm's request id finds nothing.
import { and, asc, desc, eq, gt, gte, isNull, lte, or, sql } from "drizzle-orm";
import { auditEvents, contacts, ITEM_KINDS, REMINDER_SCHEDULES, REQUEST_STATUSES, requestItems, requests } from "../../../db/schema";
import { type Database } from "../db.server";
import type { Contact, Ref, Request, RequestFile, RequestItem } from "../types";
import { direct, type Read } from "../read-batch.server";
import { filesOfRequest } from "./file-lookups.server";

// ---------------------------------------------------------------------------------------------
// Staff side. Every query takes the firm id: another firm's request id finds nothing.

export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type ReminderSchedule = (typeof REMINDER_SCHEDULES)[number];
export type ItemKind = (typeof ITEM_KINDS)[number];
export type StaffActor = { id: string; email: string };

export const REQUESTS_PAGE_SIZE = 50;

export type FirmRequestRow = {
  id: string;
  title: string;
  dueDate: string | null;
  status: RequestStatus;
  contactId: string;
  contactName: string;
  items: number;
  done: number;
};

export type RequestFilters = { status?: RequestStatus; contactId?: string; dueFrom?: string; dueTo?: string };

/** Requests without a date sort last; the key is also the keyset cursor ("due\u0000id"). */
const dueKey = sql<string>`coalesce(${requests.dueDate}, '9999-12-31')`;

/** One page of a firm's requests by due date, keyset-paginated like the contacts list. */
export async function listFirmRequests(
  db: Database,
  firmId: Ref,
  options: RequestFilters & { after?: string | null; limit?: number } = {},
  read: Read = direct,
): Promise<{ rows: FirmRequestRow[]; next: string | null }> {
  const limit = options.limit ?? REQUESTS_PAGE_SIZE;
  const [afterDue, afterId] = options.after ? options.after.split("\u0000") : [];
  const rows = await read(
    db
    .select({
      id: requests.id,
      title: requests.title,
      dueDate: requests.dueDate,
      status: requests.status,
      contactId: requests.contactId,
      contactName: contacts.name,
      items: sql<number>`count(${requestItems.id})`,
      done: sql<number>`count(${requestItems.completedAt})`,
      key: dueKey,
    })
    .from(requests)
    .innerJoin(contacts, and(eq(contacts.id, requests.contactId), eq(contacts.firmId, firmId)))
    .leftJoin(requestItems, eq(requestItems.requestId, requests.id))
    .where(
      and(
        eq(requests.firmId, firmId),
        options.status ? eq(requests.status, options.status) : undefined,
        options.contactId ? eq(requests.contactId, options.contactId) : undefined,
        options.dueFrom ? gte(requests.dueDate, options.dueFrom) : undefined,
        options.dueTo ? lte(requests.dueDate, options.dueTo) : undefined,
        afterDue !== undefined && afterId !== undefined
          ? or(gt(dueKey, afterDue), and(eq(dueKey, afterDue), gt(requests.id, afterId)))
          : undefined,
      ),
    )
    .groupBy(requests.id)
    .orderBy(dueKey, asc(requests.id))
    .limit(limit + 1),
  );
  const page = rows.slice(0, limit).map(({ key: _key, ...row }) => row);
  const last = rows[limit - 1];
  return { rows: page, next: rows.length > limit && last ? `${last.key}\u0000${last.id}` : null };
}

/** Contacts for the pickers: a select up to this many, a search by email above it. */
export const CONTACT_PICKER_LIMIT = 500;

export async function contactOptions(
  db: Database,
  firmId: Ref,
  read: Read = direct,
): Promise<{ options: { id: string; name: string; email: string }[]; tooMany: boolean }> {
  const rows = await read(
    db
      .select({ id: contacts.id, name: contacts.name, email: contacts.email })
      .from(contacts)
      .where(and(eq(contacts.firmId, firmId), isNull(contacts.deletedAt)))
      .orderBy(asc(contacts.name), asc(contacts.id))
      .limit(CONTACT_PICKER_LIMIT + 1),
  );
  return rows.length > CONTACT_PICKER_LIMIT ? { options: [], tooMany: true } : { options: rows, tooMany: false };
}

/** A live contact of this firm, by id or by email. */
export async function findFirmContact(db: Database, firmId: string, by: { id?: string; email?: string }): Promise<Contact | null> {
  if (!by.id && !by.email) return null;
  const [row] = await db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.firmId, firmId),
        isNull(contacts.deletedAt),
        by.id ? eq(contacts.id, by.id) : eq(sql`lower(${contacts.email})`, by.email!.toLowerCase()),
      ),
    )
    .orderBy(asc(contacts.createdAt))
    .limit(1);
  return row ?? null;
}

export type ActivityEntry = { id: string; at: number; type: string; actorLabel: string | null };

export type FirmRequestDetails = {
  request: Request;
  contact: Contact;
  items: RequestItem[];
  files: RequestFile[];
  activity: ActivityEntry[];
};

export async function getFirmRequest(db: Database, firmId: Ref, requestId: string, read: Read = direct): Promise<FirmRequestDetails | null> {
  // Single-table reads in one batch (the session's too, on the request page): the contact is reached
  // through the request row in SQL, so nothing waits for the request before asking for the rest.
  const contactOfRequest = sql`(SELECT "r"."contact_id" FROM ${requests} AS "r" WHERE "r"."id" = ${requestId} AND "r"."firm_id" = ${firmId})`;
  const [[request], [contact], items, files, activity] = await Promise.all([
    read(db.select().from(requests).where(and(eq(requests.id, requestId), eq(requests.firmId, firmId))).limit(1)),
    read(db.select().from(contacts).where(and(eq(contacts.id, contactOfRequest), eq(contacts.firmId, firmId))).limit(1)),
    read(
      db
        .select()
        .from(requestItems)
        .where(and(eq(requestItems.requestId, requestId), eq(requestItems.firmId, firmId)))
        .orderBy(asc(requestItems.position)),
    ),
    read(filesOfRequest(db, firmId, requestId)),
    // Audit events carry the request id in their detail; the contact index narrows the scan.
    read(
      db
        .select({ id: auditEvents.id, at: auditEvents.at, type: auditEvents.type, actorLabel: auditEvents.actorLabel })
        .from(auditEvents)
        .where(and(eq(auditEvents.firmId, firmId), eq(auditEvents.contactId, contactOfRequest), sql`json_extract(${auditEvents.detail}, '$.requestId') = ${requestId}`))
        .orderBy(desc(auditEvents.at))
        .limit(100),
    ),
  ]);
  if (!request || !contact) return null;
  return { request, contact, items, files: files.map((f) => f.file), activity };
}
