// The client's answers: ticking, answering and uploading. Every write that can finish a request
// carries the completion check in its own batch.
import { and, eq, isNull, notExists, sql } from "drizzle-orm";
import { auditEvents, outbox, requestFiles, requestItems, requests, staffUsers } from "../../../db/schema";
import { auditEvent, auditRow } from "../audit.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import { requestCompletedEmail } from "../emails.server";
import { outboxRow } from "../outbox.server";
import type { RequestMeta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import type { Contact, Firm, Request, RequestFile, RequestItem } from "../types";
import type { ItemKind } from "./staff-requests.server";

// ---------------------------------------------------------------------------------------------
// Client side: ticking, answering and uploading. Each write carries the completion check.

export type ClientActor = { firm: Firm; contact: Contact } & RequestMeta;

/** An item of one of this contact's requests, with its request; callers refuse changes once the request is not open. */
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
  return row ?? null;
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
