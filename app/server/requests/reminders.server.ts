// Automatic reminders (ADR 004). The schedule is a pure function of dates so it can be read and
// tested on its own; sending goes through `sendReminder`, whose day claim makes a retried cron run
// send nothing twice.
import { and, asc, eq, gt, isNotNull, isNull, lt, ne, or } from "drizzle-orm";
import { contacts, firms, requests } from "../../../db/schema";
import type { Database } from "../db.server";
import { isoDay, sendReminder } from "./sending.server";
import type { ReminderSchedule } from "./staff-requests.server";

const DAY_MS = 24 * 60 * 60_000;

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS);
}

/**
 * Is a reminder due today (UTC dates, "YYYY-MM-DD")?
 * - gentle: every 7 days counting back from the due date (…, 14, 7 days before), on the due date,
 *   then every 7 days while overdue; without a due date, every 7 days after sending.
 * - urgent: every 2 days counting back from the due date, on the due date, then daily while overdue;
 *   without a due date, every 2 days after sending.
 * Never on the day the request was sent: the client has just been emailed.
 */
export function reminderDueToday(input: { schedule: ReminderSchedule; dueDate: string | null; sentOn: string; today: string }): boolean {
  const { schedule, dueDate, sentOn, today } = input;
  if (schedule === "none" || today <= sentOn) return false;
  const interval = schedule === "gentle" ? 7 : 2;
  if (!dueDate) return daysBetween(sentOn, today) % interval === 0;
  const untilDue = daysBetween(today, dueDate);
  if (untilDue >= 0) return untilDue % interval === 0;
  return schedule === "urgent" || -untilDue % interval === 0;
}

/** At most this many reminders per cron run; the rest go out on the next run (every 5 minutes). */
export const REMINDERS_PER_RUN = 200;
const PAGE = 200;

export type ReminderReport = { considered: number; sent: number };

export async function sendDueReminders(db: Database, env: Env, now = Date.now()): Promise<ReminderReport> {
  const today = isoDay(now);
  const report: ReminderReport = { considered: 0, sent: 0 };
  let after = "";
  for (;;) {
    const page = await db
      .select({ request: requests, contact: contacts, firm: firms })
      .from(requests)
      .innerJoin(contacts, and(eq(contacts.id, requests.contactId), eq(contacts.firmId, requests.firmId)))
      .innerJoin(firms, eq(firms.id, requests.firmId))
      .where(
        and(
          eq(requests.status, "open"),
          ne(requests.reminderSchedule, "none"),
          isNotNull(requests.sentAt),
          or(isNull(requests.lastReminderOn), lt(requests.lastReminderOn, today)),
          isNull(contacts.deletedAt),
          gt(requests.id, after),
        ),
      )
      .orderBy(asc(requests.id))
      .limit(PAGE);
    for (const row of page) {
      report.considered++;
      const sentOn = isoDay(row.request.sentAt!);
      if (!reminderDueToday({ schedule: row.request.reminderSchedule, dueDate: row.request.dueDate, sentOn, today })) continue;
      if (await sendReminder(db, env, { firm: row.firm, contact: row.contact, request: row.request, by: { type: "system" } }, now)) {
        report.sent++;
      }
      if (report.sent >= REMINDERS_PER_RUN) return report;
    }
    if (page.length < PAGE) return report;
    after = page[page.length - 1].request.id;
  }
}
