// Sending requests and reminders: each send mints a magic link, queues the email and writes the audit
// row in one batch.
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { auditEvents, requestItems, requests } from "../../../db/schema";
import { createAccessLink, publishLink } from "../portal/access-links.server";
import { auditEvent, auditRow } from "../audit.server";
import { generateId } from "../crypto.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import type { RequestMeta } from "../request-meta.server";
import type { Contact, Firm, Request } from "../types";
import type { ItemKind, ReminderSchedule, StaffActor } from "./staff-requests.server";

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
