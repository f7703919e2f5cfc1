// The client's view of their requests: the list with progress, grouped by due date, and one request.
import { and, asc, eq, sql } from "drizzle-orm";
import { requestItems, requests } from "../../../db/schema";
import type { RequestStatus } from "./staff-requests.server";
import { type Database } from "../db.server";

export type RequestSummary = {
  id: string;
  title: string;
  dueDate: string | null;
  status: RequestStatus;
  completedAt: number | null;
  items: number;
  done: number;
};

/** A contact's requests with their progress, in one query. */
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
    .where(and(eq(requests.firmId, firmId), eq(requests.contactId, contactId)))
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
    .where(and(eq(requests.id, requestId), eq(requests.firmId, firmId), eq(requests.contactId, contactId)))
    .orderBy(asc(requestItems.position));
  if (rows.length === 0) return null;
  return { request: rows[0].request, items: rows.flatMap((r) => (r.item ? [r.item] : [])) };
}
