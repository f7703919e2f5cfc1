// Requests a firm sends its clients: the client's reads, the staff's reads and sends, and the client's
// answers. Every write that can finish a request carries the completion check in its own batch.
import { and, asc, desc, eq, gt, gte, isNull, lt, lte, notExists, or, sql } from "drizzle-orm";
import {
  auditEvents,
  contacts,
  ITEM_KINDS,
  outbox,
  REMINDER_SCHEDULES,
  REQUEST_STATUSES,
  requestFiles,
  requestItems,
  requests,
  staffUsers,
} from "../../../db/schema";
import { createAccessLink, publishLink } from "../portal/access-links.server";
import { auditEvent, auditRow } from "../audit.server";
import { generateId } from "../crypto.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import { requestCompletedEmail } from "../emails.server";
import { outboxRow } from "../outbox.server";
import type { RequestMeta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import type { Contact, Firm, Request, RequestFile, RequestItem } from "../types";

export type RequestSummary = {
  id: string;
  title: string;
  dueDate: string | null;
  status: "draft" | "open" | "completed";
  completedAt: number | null;
  items: number;
  done: number;
};

/** A contact's requests with their progress, in one query (drafts are never shown to clients). */
export async function listContactRequests(db: Database, firmId: string, contactId: string): Promise<RequestSummary[]> {
  return db
    .select({
      id: requests.id,
      title: requests.title,
      dueDate: requests.dueDate,
      status: requests.status,
      completedAt: requests.completedAt,
      items: sql<number>`count(${requestItems.id})`,
      done: sql<number>`count(${requestItems.completedAt})`,
    })
    .from(requests)
    .leftJoin(requestItems, eq(requestItems.requestId, requests.id))
    .where(and(eq(requests.firmId, firmId), eq(requests.contactId, contactId), sql`${requests.status} <> 'draft'`))
    .groupBy(requests.id)
    .orderBy(sql`${requests.dueDate} IS NULL`, asc(requests.dueDate), asc(requests.title));
}

/** Groups by due date for the portal: overdue, this week, later, no date; completed last. */
export function groupByDueDate(list: RequestSummary[], today: string) {
  const weekAhead = new Date(Date.parse(today) + 7 * 24 * 60 * 60_000).toISOString().slice(0, 10);
  const groups: Record<"overdue" | "thisWeek" | "later" | "noDate" | "completed", RequestSummary[]> = {
    overdue: [],
    thisWeek: [],
    later: [],
    noDate: [],
    completed: [],
  };
  for (const r of list) {
    if (r.status === "completed") groups.completed.push(r);
    else if (!r.dueDate) groups.noDate.push(r);
    else if (r.dueDate < today) groups.overdue.push(r);
    else if (r.dueDate <= weekAhead) groups.thisWeek.push(r);
    else groups.later.push(r);
  }
  return groups;
}

export async function getContactRequest(db: Database, firmId: string, contactId: string, requestId: string) {
  const rows = await db
    .select({ request: requests, item: requestItems })
    .from(requests)
    .leftJoin(requestItems, eq(requestItems.requestId, requests.id))
    .where(and(eq(requests.id, requestId), eq(requests.firmId, firmId), eq(requests.contactId, contactId), sql`${requests.status} <> 'draft'`))
    .orderBy(asc(requestItems.position));
  if (rows.length === 0) return null;
  return { request: rows[0].request, items: rows.flatMap((r) => (r.item ? [r.item] : [])) };
}

// ---------------------------------------------------------------------------------------------
// Staff side. Every query takes the firm id: another firm's request id finds nothing.

export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type ReminderSchedule = (typeof REMINDER_SCHEDULES)[number];
export type ItemKind = (typeof ITEM_KINDS)[number];
type StaffActor = { id: string; email: string };

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
  firmId: string,
  options: RequestFilters & { after?: string | null; limit?: number } = {},
): Promise<{ rows: FirmRequestRow[]; next: string | null }> {
  const limit = options.limit ?? REQUESTS_PAGE_SIZE;
  const [afterDue, afterId] = options.after ? options.after.split("\u0000") : [];
  const rows = await db
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
    .limit(limit + 1);
  const page = rows.slice(0, limit).map(({ key: _key, ...row }) => row);
  const last = rows[limit - 1];
  return { rows: page, next: rows.length > limit && last ? `${last.key}\u0000${last.id}` : null };
}

/** Contacts for the pickers: a select up to this many, a search by email above it. */
export const CONTACT_PICKER_LIMIT = 500;

export async function contactOptions(db: Database, firmId: string): Promise<{ options: { id: string; name: string; email: string }[]; tooMany: boolean }> {
  const rows = await db
    .select({ id: contacts.id, name: contacts.name, email: contacts.email })
    .from(contacts)
    .where(and(eq(contacts.firmId, firmId), isNull(contacts.deletedAt)))
    .orderBy(asc(contacts.name), asc(contacts.id))
    .limit(CONTACT_PICKER_LIMIT + 1);
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

export async function getFirmRequest(db: Database, firmId: string, requestId: string): Promise<FirmRequestDetails | null> {
  const [row] = await db
    .select({ request: requests, contact: contacts })
    .from(requests)
    .innerJoin(contacts, and(eq(contacts.id, requests.contactId), eq(contacts.firmId, firmId)))
    .where(and(eq(requests.id, requestId), eq(requests.firmId, firmId)))
    .limit(1);
  if (!row) return null;
  const [items, files, activity] = await Promise.all([
    db
      .select()
      .from(requestItems)
      .where(and(eq(requestItems.requestId, requestId), eq(requestItems.firmId, firmId)))
      .orderBy(asc(requestItems.position)),
    filesOfRequest(db, firmId, requestId),
    // Audit events carry the request id in their detail; the contact index narrows the scan.
    db
      .select({ id: auditEvents.id, at: auditEvents.at, type: auditEvents.type, actorLabel: auditEvents.actorLabel })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.firmId, firmId),
          eq(auditEvents.contactId, row.contact.id),
          sql`json_extract(${auditEvents.detail}, '$.requestId') = ${requestId}`,
        ),
      )
      .orderBy(desc(auditEvents.at))
      .limit(100),
  ]);
  return { ...row, items, files, activity };
}

export function filesOfRequest(db: Database, firmId: string, requestId: string): Promise<RequestFile[]> {
  // request_files is indexed by item; reach the files through the request's items.
  return db
    .select({ file: requestFiles })
    .from(requestItems)
    .innerJoin(requestFiles, eq(requestFiles.itemId, requestItems.id))
    .where(and(eq(requestItems.requestId, requestId), eq(requestItems.firmId, firmId), eq(requestFiles.firmId, firmId)))
    .orderBy(asc(requestFiles.uploadedAt))
    .then((rows) => rows.map((r) => r.file));
}

export type NewRequestInput = {
  title: string;
  description: string;
  dueDate: string | null;
  reminderSchedule: ReminderSchedule;
  items: { kind: ItemKind; label: string }[];
};

type Meta = RequestMeta;

/**
 * "Send": the request, its items, the client's magic link with its email and the audit event are
 * written in one D1 batch, so a request never exists without its email, nor an email without it.
 */
export async function createAndSendRequest(
  db: Database,
  env: Env,
  input: { firm: Firm; staff: StaffActor; contact: Contact; request: NewRequestInput } & Meta,
  now = Date.now(),
): Promise<string> {
  const requestId = generateId();
  const link = await createAccessLink(
    db,
    env,
    { firm: input.firm, contact: input.contact, purpose: "staff", requestId, requestTitle: input.request.title },
    now,
  );
  await runBatch(db, [
    db.insert(requests).values({
      id: requestId,
      firmId: input.firm.id,
      contactId: input.contact.id,
      title: input.request.title,
      description: input.request.description,
      dueDate: input.request.dueDate,
      status: "open",
      reminderSchedule: input.request.reminderSchedule,
      // The send itself counts as today's message: no automatic reminder on the same day.
      lastReminderOn: isoDay(now),
      createdByStaffId: input.staff.id,
      sentAt: now,
      createdAt: now,
    }),
    db.insert(requestItems).values(
      input.request.items.map((item, position) => ({
        id: generateId(),
        requestId,
        firmId: input.firm.id,
        kind: item.kind,
        label: item.label,
        position,
      })),
    ),
    ...link.statements,
    auditEvent(db, {
      firmId: input.firm.id,
      type: "request.sent",
      actor: { type: "staff", id: input.staff.id, label: input.staff.email },
      contactId: input.contact.id,
      detail: { requestId, items: input.request.items.length },
      ip: input.ip,
      userAgent: input.userAgent,
      at: now,
    }),
  ]);
  await publishLink(env.LINKS, link.token, link.record, now);
  return requestId;
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A reminder: a fresh magic link emailed to the contact. Automatic reminders claim the day first:
 * the link, email and audit rows are conditional on the same predicate as the claim and precede it
 * in one batch, so of any number of runs on one day exactly one writes them (see ADR 004).
 * Staff reminders are sent whenever asked, but only for open requests, and count as the day's reminder.
 */
export async function sendReminder(
  db: Database,
  env: Env,
  input: { firm: Firm; contact: Contact; request: Request; by: ({ type: "staff"; staff: StaffActor } & RequestMeta) | { type: "system" } },
  now = Date.now(),
): Promise<boolean> {
  const today = isoDay(now);
  const id = input.request.id;
  const automatic = input.by.type === "system";
  const condition = automatic
    ? sql`EXISTS (SELECT 1 FROM requests WHERE id = ${id} AND status = 'open' AND (last_reminder_on IS NULL OR last_reminder_on < ${today}))`
    : sql`EXISTS (SELECT 1 FROM requests WHERE id = ${id} AND status = 'open')`;
  const link = await createAccessLink(
    db,
    env,
    { firm: input.firm, contact: input.contact, purpose: "staff", requestId: id, requestTitle: input.request.title, onlyIf: condition },
    now,
  );
  const audit = auditRow({
    firmId: input.firm.id,
    type: automatic ? "request.reminder_sent_automatically" : "request.reminder_sent",
    actor: input.by.type === "staff" ? { type: "staff", id: input.by.staff.id, label: input.by.staff.email } : { type: "system" },
    contactId: input.contact.id,
    detail: { requestId: id },
    ip: input.by.type === "staff" ? input.by.ip : null,
    userAgent: input.by.type === "staff" ? input.by.userAgent : null,
    at: now,
  });
  const claim = db
    .update(requests)
    .set({ lastReminderOn: today })
    .where(
      and(
        eq(requests.id, id),
        eq(requests.firmId, input.firm.id),
        eq(requests.status, "open"),
        automatic ? or(isNull(requests.lastReminderOn), lt(requests.lastReminderOn, today)) : undefined,
      ),
    )
    .returning({ id: requests.id });
  const statements: Statement[] = [...link.statements, insertWhere(db, auditEvents, audit, condition), claim];
  const results: unknown[] = await db.batch(statements as [Statement, ...Statement[]]);
  const claimed = (results[results.length - 1] as { id: string }[]).length === 1;
  if (claimed) await publishLink(env.LINKS, link.token, link.record, now);
  return claimed;
}

// ---------------------------------------------------------------------------------------------
// Client side: ticking, answering and uploading. Each write carries the completion check.

export type ClientActor = { firm: Firm; contact: Contact } & RequestMeta;

/** A request item the contact may change now: their own, of an open request. */
export async function findOpenItem(db: Database, firmId: string, contactId: string, requestId: string, itemId: string) {
  const [row] = await db
    .select({ request: requests, item: requestItems })
    .from(requestItems)
    .innerJoin(requests, eq(requests.id, requestItems.requestId))
    .where(
      and(
        eq(requestItems.id, itemId),
        eq(requestItems.requestId, requestId),
        eq(requestItems.firmId, firmId),
        eq(requests.firmId, firmId),
        eq(requests.contactId, contactId),
      ),
    )
    .limit(1);
  if (!row || row.request.status === "draft") return null;
  return row;
}

/**
 * What completing the last item writes, after the item's own update in the same batch: the staff
 * notification and audit event exist only if the request is open with no open item left, and the
 * status change with the same predicate comes last, so concurrent last items complete it once.
 */
async function completionStatements(db: Database, env: Env, actor: ClientActor, request: Request, now: number): Promise<Statement[]> {
  const id = request.id;
  const allDone = sql`EXISTS (SELECT 1 FROM requests WHERE id = ${id} AND status = 'open')
    AND NOT EXISTS (SELECT 1 FROM request_items WHERE request_id = ${id} AND completed_at IS NULL)`;
  const url = `${env.APP_URL.replace(/\/$/, "")}/app/requests/${id}`;
  const recipients = await staffToNotify(db, actor.firm.id, request.createdByStaffId);
  return [
    ...recipients.map((to) =>
      insertWhere(
        db,
        outbox,
        outboxRow(requestCompletedEmail({ firm: actor.firm, to, contact: actor.contact, requestTitle: request.title, url }), now),
        allDone,
      ),
    ),
    insertWhere(
      db,
      auditEvents,
      auditRow({
        firmId: actor.firm.id,
        type: "request.completed",
        actor: { type: "client", id: actor.contact.id, label: actor.contact.email },
        contactId: actor.contact.id,
        detail: { requestId: id },
        ip: actor.ip,
        userAgent: actor.userAgent,
        at: now,
      }),
      allDone,
    ),
    db
      .update(requests)
      .set({ status: "completed", completedAt: now })
      .where(
        and(
          eq(requests.id, id),
          eq(requests.status, "open"),
          notExists(db.select({ one: sql`1` }).from(requestItems).where(and(eq(requestItems.requestId, id), isNull(requestItems.completedAt)))),
        ),
      ),
  ];
}

/** The staff member who sent the request, or the firm's admins if they have left. */
async function staffToNotify(db: Database, firmId: string, createdBy: string | null): Promise<{ name: string; email: string }[]> {
  const active = and(eq(staffUsers.firmId, firmId), isNull(staffUsers.deactivatedAt));
  if (createdBy) {
    const [creator] = await db
      .select({ name: staffUsers.name, email: staffUsers.email })
      .from(staffUsers)
      .where(and(active, eq(staffUsers.id, createdBy)))
      .limit(1);
    if (creator) return [creator];
  }
  return db
    .select({ name: staffUsers.name, email: staffUsers.email })
    .from(staffUsers)
    .where(and(active, eq(staffUsers.role, "admin")))
    .limit(20);
}

function clientAudit(actor: ClientActor, type: string, detail: Record<string, unknown>, now: number) {
  return {
    firmId: actor.firm.id,
    type,
    actor: { type: "client" as const, id: actor.contact.id, label: actor.contact.email },
    contactId: actor.contact.id,
    detail,
    ip: actor.ip,
    userAgent: actor.userAgent,
    at: now,
  };
}

export type ItemChange = Result<{ completed: boolean }>;

export const REQUEST_CLOSED = refuse(409, "This request is complete, so it can no longer be changed.");
export const ITEM_NOT_FOUND = refuse(404, "That item is not part of this request.");

async function changeItem(
  db: Database,
  env: Env,
  actor: ClientActor,
  requestId: string,
  itemId: string,
  kind: ItemKind,
  write: (request: Request, item: RequestItem) => Statement[],
  now: number,
): Promise<ItemChange> {
  const found = await findOpenItem(db, actor.firm.id, actor.contact.id, requestId, itemId);
  if (!found) return ITEM_NOT_FOUND;
  if (found.item.kind !== kind) return refuse(422, "That item cannot be changed this way.");
  if (found.request.status !== "open") return REQUEST_CLOSED;
  await runBatch(db, [...write(found.request, found.item), ...(await completionStatements(db, env, actor, found.request, now))]);
  const [after] = await db.select({ status: requests.status }).from(requests).where(eq(requests.id, requestId)).limit(1);
  return { ok: true, completed: after?.status === "completed" };
}

export function tickTask(db: Database, env: Env, actor: ClientActor, requestId: string, itemId: string, now = Date.now()) {
  return changeItem(
    db,
    env,
    actor,
    requestId,
    itemId,
    "task",
    (request, item) => [
      db
        .update(requestItems)
        .set({ completedAt: now })
        .where(and(eq(requestItems.id, item.id), eq(requestItems.firmId, actor.firm.id), isNull(requestItems.completedAt))),
      auditEvent(db, clientAudit(actor, "request.task_done", { requestId: request.id, itemId: item.id }, now)),
    ],
    now,
  );
}

export const MAX_ANSWER_LENGTH = 5000;

export function saveAnswer(db: Database, env: Env, actor: ClientActor, requestId: string, itemId: string, answer: string, now = Date.now()) {
  return changeItem(
    db,
    env,
    actor,
    requestId,
    itemId,
    "question",
    (request, item) => [
      db
        .update(requestItems)
        .set({ answer, completedAt: sql`coalesce(${requestItems.completedAt}, ${now})` })
        .where(and(eq(requestItems.id, item.id), eq(requestItems.firmId, actor.firm.id))),
      auditEvent(db, clientAudit(actor, "request.question_answered", { requestId: request.id, itemId: item.id }, now)),
    ],
    now,
  );
}

/** Records a file already stored in R2 against its item (and completes the item). */
export function recordUpload(
  db: Database,
  env: Env,
  actor: ClientActor,
  file: Omit<RequestFile, "firmId" | "uploadedAt">,
  now = Date.now(),
) {
  return changeItem(
    db,
    env,
    actor,
    file.requestId,
    file.itemId,
    "file",
    (request, item) => [
      db.insert(requestFiles).values({ ...file, firmId: actor.firm.id, uploadedAt: now }),
      db
        .update(requestItems)
        .set({ completedAt: sql`coalesce(${requestItems.completedAt}, ${now})` })
        .where(and(eq(requestItems.id, item.id), eq(requestItems.firmId, actor.firm.id))),
      auditEvent(db, clientAudit(actor, "request.file_uploaded", { requestId: request.id, itemId: item.id, fileId: file.id, size: file.size }, now)),
    ],
    now,
  );
}

/** A file of one request of this firm (staff downloads). */
export async function findFirmFile(db: Database, firmId: string, requestId: string, fileId: string): Promise<RequestFile | null> {
  const [row] = await db
    .select({ file: requestFiles })
    .from(requestFiles)
    .innerJoin(requests, eq(requests.id, requestFiles.requestId))
    .where(and(eq(requestFiles.id, fileId), eq(requestFiles.requestId, requestId), eq(requestFiles.firmId, firmId), eq(requests.firmId, firmId)))
    .limit(1);
  return row?.file ?? null;
}

/** A file of one of this contact's requests (client downloads). */
export async function findContactFile(db: Database, firmId: string, contactId: string, requestId: string, fileId: string): Promise<RequestFile | null> {
  const [row] = await db
    .select({ file: requestFiles })
    .from(requestFiles)
    .innerJoin(requests, eq(requests.id, requestFiles.requestId))
    .where(
      and(
        eq(requestFiles.id, fileId),
        eq(requestFiles.requestId, requestId),
        eq(requestFiles.firmId, firmId),
        eq(requests.firmId, firmId),
        eq(requests.contactId, contactId),
        sql`${requests.status} <> 'draft'`,
      ),
    )
    .limit(1);
  return row?.file ?? null;
}
