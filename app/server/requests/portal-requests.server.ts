// The client's view of their requests: the list with progress, grouped by due date, and one request.
import { and, asc, eq, sql } from "drizzle-orm";
import { requestItems, requests, sessions } from "../../../db/schema";
import { ofSession } from "../auth/sessions.server";
import { statement } from "../statements.server";
import type { RequestStatus } from "./staff-requests.server";
import { type Database } from "../db.server";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";
import { filesOfRequest } from "./file-lookups.server";

export type RequestSummary = {
  id: string;
  title: string;
  dueDate: string | null;
  status: RequestStatus;
  completedAt: number | null;
  items: number;
  done: number;
};

/**
 * The requests of the session's contact with their progress, in one query. Built once per isolate
 * (statements.server.ts): it is the page every client lands on. Read through the request's reader,
 * its rows are used only once the session has been checked (`portalPage`).
 */
const requestsOfSessionContact = statement(["sessionId"], (db, p) =>
  db
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
    .where(and(eq(requests.firmId, ofSession(p.sessionId, sessions.firmId)), eq(requests.contactId, ofSession(p.sessionId, sessions.contactId))))
    .groupBy(requests.id)
    .orderBy(sql`${requests.dueDate} IS NULL`, asc(requests.dueDate), asc(requests.title)),
);

export function listSessionContactRequests(read: Read, sessionId: string): Promise<RequestSummary[]> {
  return read(requestsOfSessionContact({ sessionId }));
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

/**
 * One request of this contact with its items (and, with `withFiles`, its files): single-table reads that
 * go out in one batch, the page's session lookup included when `read` is the request's reader.
 */
export async function getContactRequest(db: Database, firmId: Ref, contactId: Ref, requestId: string, read: Read = direct) {
  const [[request], items] = await Promise.all([
    read(db.select().from(requests).where(and(eq(requests.id, requestId), eq(requests.firmId, firmId), eq(requests.contactId, contactId))).limit(1)),
    // Items of another client's request are read for nothing: without the request row they are dropped.
    read(db.select().from(requestItems).where(and(eq(requestItems.requestId, requestId), eq(requestItems.firmId, firmId))).orderBy(asc(requestItems.position))),
  ]);
  return request ? { request, items } : null;
}

/** The request page: the request, its items and its files, in the session's round trip. */
export async function getContactRequestWithFiles(db: Database, firmId: Ref, contactId: Ref, requestId: string, read: Read = direct) {
  const [found, files] = await Promise.all([getContactRequest(db, firmId, contactId, requestId, read), read(filesOfRequest(db, firmId, requestId))]);
  return found ? { ...found, files: files.map((f) => f.file) } : null;
}
