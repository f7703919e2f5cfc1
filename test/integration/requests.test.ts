// Issue 6: requests end to end through the worker, with real D1, KV and R2.
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, auditEvents, outbox, requestItems, requests } from "../../db/schema";
import { reminderDueToday, sendDueReminders } from "../../app/server/requests/reminders.server";
import { runScheduledJobs } from "../../app/server/scheduled.server";
import { listFirmRequests } from "../../app/server/requests/staff-requests.server";
import { createContact, createFirm, createStaff, db, PASSWORD } from "../support/factories";
import { signInStaff } from "../support/http";
import { claim, emailsTo, linkTokenIn } from "../support/portal";
import { clientBrowser, createRequest, DAY, isoDay } from "../support/requests";

function newRequestForm(contactId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    contactId,
    title: "2026 year-end documents",
    description: "Everything for the year end.",
    dueDate: isoDay(Date.now() + 14 * DAY),
    reminderSchedule: "gentle",
    itemKind0: "task",
    itemLabel0: "Confirm your address",
    itemKind1: "question",
    itemLabel1: "Did you sell shares?",
    itemKind2: "file",
    itemLabel2: "Upload your bank statements",
    itemKind3: "task",
    itemLabel3: "   ",
    itemKind4: "file",
    itemLabel4: "",
    ...extra,
  };
}

describe("staff create and send a request", () => {
  it("writes the request, its items, the link, the email and the audit event together; the link opens it", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const staff = await createStaff(firm, { role: "member" });
    const browser = await signInStaff(staff.email, PASSWORD);
    expect((await browser.fetch("/app/requests/new")).status).toBe(200);

    const since = Date.now();
    const response = await browser.post("/app/requests/new", newRequestForm(contact.id));
    expect(response.status).toBe(302);
    const requestId = /\/app\/requests\/([^?]+)\?sent=1$/.exec(response.headers.get("location") ?? "")?.[1];
    expect(requestId).toBeTruthy();

    const [request] = await db.select().from(requests).where(eq(requests.id, requestId!));
    expect(request).toMatchObject({ firmId: firm.id, contactId: contact.id, status: "open", reminderSchedule: "gentle", createdByStaffId: staff.id });
    expect(request.sentAt).toBeGreaterThanOrEqual(since);
    const items = await db.select().from(requestItems).where(eq(requestItems.requestId, requestId!));
    expect(items.map((i) => [i.kind, i.label, i.position]).sort()).toEqual([
      ["file", "Upload your bank statements", 2],
      ["question", "Did you sell shares?", 1],
      ["task", "Confirm your address", 0],
    ]);
    const [link] = await db.select().from(accessLinks).where(eq(accessLinks.requestId, requestId!));
    expect(link).toMatchObject({ contactId: contact.id, purpose: "staff" });
    const [email] = await emailsTo(contact.email, since);
    expect(email.subject).toBe(`${firm.name}: 2026 year-end documents`);
    const audit = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "request.sent")));
    expect(JSON.parse(audit[0].detail!)).toMatchObject({ requestId, items: 3 });

    const { browser: client, response: claimed } = await claim(linkTokenIn(email.textBody));
    expect(claimed.status).toBe(302);
    const page = await client.fetch(`/portal/${firm.slug}/requests/${requestId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Did you sell shares?");
    expect(html).toContain("Mark as done");

    const detail = await (await browser.fetch(`/app/requests/${requestId}`)).text();
    expect(detail).toContain("0 of 3 done");
    expect(detail).toContain("Request sent");
  });

  it("refuses bad input with 400/413/422 and a message, and creates nothing (rule 32)", async () => {
    const firm = await createFirm();
    const other = await createFirm();
    const contact = await createContact(firm);
    const stranger = await createContact(other);
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD);
    const cases: Array<[Record<string, string>, number, string]> = [
      [newRequestForm(contact.id, { title: "" }), 422, "Enter a title."],
      [newRequestForm(contact.id, { title: "x".repeat(201) }), 422, "Titles are at most 200 characters."],
      [newRequestForm(contact.id, { itemLabel0: "", itemLabel1: "", itemLabel2: "" }), 422, "Add at least one checklist item."],
      [newRequestForm(contact.id, { itemKind0: "essay" }), 422, "Choose task, question or file."],
      [newRequestForm(contact.id, { itemLabel0: "y".repeat(301) }), 422, "Items are at most 300 characters."],
      [newRequestForm(contact.id, { dueDate: "2026-02-31" }), 422, "Enter the date as YYYY-MM-DD."],
      [newRequestForm(contact.id, { dueDate: "2001-01-01" }), 422, "today or later"],
      [newRequestForm(contact.id, { reminderSchedule: "hourly" }), 422, "Choose a reminder schedule."],
      [newRequestForm(stranger.id), 422, "Choose one of your firm&#x27;s contacts."],
      [newRequestForm(""), 422, "Choose one of your firm&#x27;s contacts."],
      [newRequestForm(contact.id, { description: "d".repeat(5001) }), 422, "Descriptions are at most 5,000 characters."],
      [{ title: "only a title" }, 422, "Choose a reminder schedule."],
    ];
    for (const [form, status, message] of cases) {
      const response = await browser.post("/app/requests/new", form);
      expect(response.status, JSON.stringify(form).slice(0, 120)).toBe(status);
      expect(await response.text()).toContain(message);
    }
    const big = await browser.post("/app/requests/new", newRequestForm(contact.id, { description: "z".repeat(70_000) }));
    expect(big.status).toBe(413);
    const malformed = await browser.fetch("/app/requests/new", {
      method: "POST",
      body: "--x\r\nbroken",
      headers: { "content-type": "multipart/form-data; boundary=x" },
    });
    expect(malformed.status).toBe(400);
    expect(await db.select().from(requests).where(eq(requests.firmId, firm.id))).toHaveLength(0);
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).toHaveLength(0);
  });
});

describe("staff request list", () => {
  it("filters by status, contact and due date, and pages by keyset", async () => {
    const firm = await createFirm();
    const a = await createContact(firm, { name: "Ada Filter" });
    const b = await createContact(firm, { name: "Ben Filter" });
    const r1 = await createRequest(firm, a, { dueDate: "2030-01-10" });
    const r2 = await createRequest(firm, a, { dueDate: "2030-02-10", status: "completed" });
    const r3 = await createRequest(firm, b, { dueDate: null });
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD);
    const titles = async (query: string) => {
      const html = await (await browser.fetch(`/app/requests${query}`)).text();
      return [r1, r2, r3].filter((r) => html.includes(r.request.title)).map((r) => r.request.id);
    };
    expect(await titles("")).toEqual([r1.request.id, r2.request.id, r3.request.id]);
    expect(await titles("?status=completed")).toEqual([r2.request.id]);
    expect(await titles(`?contact=${b.id}`)).toEqual([r3.request.id]);
    expect(await titles("?dueFrom=2030-02-01")).toEqual([r2.request.id]);
    expect(await titles("?dueTo=2030-01-31")).toEqual([r1.request.id]);
    expect((await browser.fetch("/app/requests?status=bogus&dueFrom=notadate&contact=%00")).status).toBe(200);

    const first = await listFirmRequests(db, firm.id, { limit: 2 });
    expect(first.rows.map((r) => r.id)).toEqual([r1.request.id, r2.request.id]);
    const second = await listFirmRequests(db, firm.id, { limit: 2, after: first.next });
    expect(second.rows.map((r) => r.id)).toEqual([r3.request.id]);
    expect(second.next).toBeNull();
  });
});

describe("Send reminder", () => {
  it("emails a fresh link for an open request and refuses completed ones", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const staff = await createStaff(firm);
    const { request } = await createRequest(firm, contact);
    const done = await createRequest(firm, contact, { status: "completed" });
    const browser = await signInStaff(staff.email, PASSWORD);
    const since = Date.now();
    const response = await browser.post(`/app/requests/${request.id}`, { intent: "send-reminder" });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("We emailed a reminder");
    const [email] = await emailsTo(contact.email, since);
    expect(email.subject).toContain(request.title);
    expect((await claim(linkTokenIn(email.textBody))).response.status).toBe(302);
    const [after] = await db.select().from(requests).where(eq(requests.id, request.id));
    expect(after.lastReminderOn).toBe(isoDay(Date.now()));

    const refused = await browser.post(`/app/requests/${done.request.id}`, { intent: "send-reminder" });
    expect(refused.status).toBe(409);
    expect((await browser.post(`/app/requests/${request.id}`, { intent: "delete-everything" })).status).toBe(400);
    expect(await emailsTo(contact.email, since)).toHaveLength(1);
  });
});

describe("automatic reminders (ADR 004)", () => {
  it("follows the gentle and urgent schedules", () => {
    const sentOn = "2026-03-01";
    const due = (schedule: "gentle" | "urgent", dueDate: string | null, today: string) => reminderDueToday({ schedule, dueDate, sentOn, today });
    // gentle: 14 and 7 days before, on the day, then weekly
    expect(due("gentle", "2026-03-30", "2026-03-16")).toBe(true);
    expect(due("gentle", "2026-03-30", "2026-03-23")).toBe(true);
    expect(due("gentle", "2026-03-30", "2026-03-24")).toBe(false);
    expect(due("gentle", "2026-03-30", "2026-03-30")).toBe(true);
    expect(due("gentle", "2026-03-30", "2026-04-02")).toBe(false);
    expect(due("gentle", "2026-03-30", "2026-04-06")).toBe(true);
    // urgent: every 2 days before, on the day, daily once overdue
    expect(due("urgent", "2026-03-30", "2026-03-28")).toBe(true);
    expect(due("urgent", "2026-03-30", "2026-03-29")).toBe(false);
    expect(due("urgent", "2026-03-30", "2026-03-31")).toBe(true);
    expect(due("urgent", "2026-03-30", "2026-04-01")).toBe(true);
    // no due date: counted from the send; never on the day of sending
    expect(due("gentle", null, "2026-03-08")).toBe(true);
    expect(due("urgent", null, "2026-03-03")).toBe(true);
    expect(due("urgent", null, "2026-03-04")).toBe(false);
    expect(reminderDueToday({ schedule: "urgent", dueDate: "2026-03-01", sentOn: "2026-03-01", today: "2026-03-01" })).toBe(false);
    expect(reminderDueToday({ schedule: "none", dueDate: "2026-03-01", sentOn: "2026-02-01", today: "2026-03-01" })).toBe(false);
  });

  it("a retried cron run the same day sends nothing twice, even when runs overlap", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const now = Date.now();
    const { request } = await createRequest(firm, contact, { schedule: "gentle", dueDate: isoDay(now + 7 * DAY), sentAt: now - 3 * DAY });
    const since = now - 1;
    await Promise.all([sendDueReminders(db, env, now), sendDueReminders(db, env, now)]);
    await runScheduledJobs(env, db, now + 60_000);
    await sendDueReminders(db, env, now + 3_600_000);
    const emails = await emailsTo(contact.email, since);
    expect(emails).toHaveLength(1);
    expect(emails[0].subject).toContain(request.title);
    const links = await db.select().from(accessLinks).where(eq(accessLinks.requestId, request.id));
    expect(links).toHaveLength(1);
    const audit = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "request.reminder_sent_automatically")));
    expect(audit).toHaveLength(1);
    const [after] = await db.select().from(requests).where(eq(requests.id, request.id));
    expect(after.lastReminderOn).toBe(isoDay(now));
    // The next gentle day (due date) sends again.
    await sendDueReminders(db, env, now + 7 * DAY);
    expect(await emailsTo(contact.email, since)).toHaveLength(2);
  });

  it("completed requests, schedule none and days off the schedule get no reminder", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const now = Date.now();
    await createRequest(firm, contact, { schedule: "urgent", dueDate: isoDay(now - 2 * DAY), status: "completed", sentAt: now - 9 * DAY });
    await createRequest(firm, contact, { schedule: "none", dueDate: isoDay(now), sentAt: now - 9 * DAY });
    await createRequest(firm, contact, { schedule: "gentle", dueDate: isoDay(now + 3 * DAY), sentAt: now - 9 * DAY });
    await sendDueReminders(db, env, now);
    expect(await emailsTo(contact.email, now - 1)).toHaveLength(0);
  });
});

describe("the client works through a request", () => {
  it("ticks, answers and uploads; the last item completes the request and emails the staff member who sent it, once", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const sender = await createStaff(firm, { role: "member" });
    const admin = await createStaff(firm, { role: "admin" });
    const { request, items } = await createRequest(firm, contact, { createdByStaffId: sender.id });
    const [task, question, file] = items;
    const client = await clientBrowser(firm, contact);
    const path = `/portal/${firm.slug}/requests/${request.id}`;
    const since = Date.now();

    expect((await client.post(path, { intent: "tick", itemId: task.id })).status).toBe(200);
    const answer = await client.post(path, { intent: "answer", itemId: question.id, answer: "No, nothing sold." });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain("Answer saved.");
    const form = new FormData();
    form.set("itemId", file.id);
    form.set("file", new File(["%PDF-1.4 test"], "p60.pdf", { type: "application/pdf" }));
    const upload = await client.fetch(path, { method: "POST", body: form });
    expect(upload.status).toBe(200);
    expect(await upload.text()).toContain("every item is done");

    const [after] = await db.select().from(requests).where(eq(requests.id, request.id));
    expect(after.status).toBe("completed");
    expect(after.completedAt).toBeGreaterThanOrEqual(since);
    const notes = await emailsTo(sender.email, since);
    expect(notes).toHaveLength(1);
    expect(notes[0].subject).toBe(`Request completed: ${request.title}`);
    expect(notes[0].textBody).toContain(`/app/requests/${request.id}`);
    expect(await emailsTo(admin.email, since)).toHaveLength(0);

    // Complete means read-only, and no second notification.
    const late = await client.post(path, { intent: "answer", itemId: question.id, answer: "Changed my mind" });
    expect(late.status).toBe(409);
    expect(await emailsTo(sender.email, since)).toHaveLength(1);
    const [q] = await db.select().from(requestItems).where(eq(requestItems.id, question.id));
    expect(q.answer).toBe("No, nothing sold.");
  });

  it("concurrent last items complete the request once; admins are told when the sender has left", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const admin = await createStaff(firm, { role: "admin" });
    const { request, items } = await createRequest(firm, contact, {
      items: [
        ["task", "One"],
        ["task", "Two"],
        ["task", "Three"],
      ],
      createdByStaffId: "staff_who_left",
    });
    const client = await clientBrowser(firm, contact);
    const path = `/portal/${firm.slug}/requests/${request.id}`;
    const since = Date.now();
    const responses = await Promise.all(items.map((i) => client.post(path, { intent: "tick", itemId: i.id })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const [after] = await db.select().from(requests).where(eq(requests.id, request.id));
    expect(after.status).toBe("completed");
    expect(await emailsTo(admin.email, since)).toHaveLength(1);
    const completed = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "request.completed")));
    expect(completed).toHaveLength(1);
  });

  it("refuses bad item input with 400/404/422 and changes nothing (rule 32)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const { request, items } = await createRequest(firm, contact);
    const elsewhere = await createRequest(firm, contact);
    const client = await clientBrowser(firm, contact);
    const path = `/portal/${firm.slug}/requests/${request.id}`;
    const [task, question] = items;
    const cases: Array<[Record<string, string>, number]> = [
      [{ intent: "answer", itemId: question.id, answer: "a".repeat(5001) }, 422],
      [{ intent: "answer", itemId: question.id, answer: "   " }, 422],
      [{ intent: "answer", itemId: question.id }, 422],
      [{ intent: "explode", itemId: task.id }, 400],
      [{ intent: "tick", itemId: "../../etc" }, 400],
      [{ intent: "tick" }, 400],
      [{ intent: "tick", itemId: question.id }, 422],
      [{ intent: "tick", itemId: elsewhere.items[0].id }, 404],
    ];
    for (const [form, status] of cases) {
      const response = await client.post(path, form);
      expect(response.status, JSON.stringify(form).slice(0, 80)).toBe(status);
    }
    expect((await client.post(path, { intent: "answer", itemId: question.id, answer: "x".repeat(70_000) })).status).toBe(413);
    const rows = await db.select().from(requestItems).where(eq(requestItems.requestId, request.id));
    expect(rows.every((r) => r.completedAt === null && r.answer === null)).toBe(true);
    expect(elsewhere.items[0].completedAt).toBeNull();
  });
});

describe("every portal security mode decides entry; the pages are the same once in", () => {
  it("in 2FA mode a link session neither sees nor changes a request", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const contact = await createContact(firm);
    const { request, items } = await createRequest(firm, contact);
    const { browser } = await claim(await (await import("../support/portal")).issueLink(firm, contact));
    const path = `/portal/${firm.slug}/requests/${request.id}`;
    const page = await browser.fetch(path);
    expect(page.status).toBe(302);
    const tick = await browser.post(path, { intent: "tick", itemId: items[0].id });
    expect(tick.status).toBe(302);
    const [row] = await db.select().from(requestItems).where(eq(requestItems.id, items[0].id));
    expect(row.completedAt).toBeNull();
  });

  it("in magic-link-only mode the link session works the request", async () => {
    const firm = await createFirm({ securityMode: "magic_link_only" });
    const contact = await createContact(firm);
    const { request, items } = await createRequest(firm, contact);
    const client = await clientBrowser(firm, contact);
    const response = await client.post(`/portal/${firm.slug}/requests/${request.id}`, { intent: "tick", itemId: items[0].id });
    expect(response.status).toBe(200);
  });
});
