// Issue 13: "Send portal invite" in bulk, to the selected rows or to every contact without a portal
// account: the confirmation's count, outbox rows, one audit event, per-address limits, chunked runs
// that continue across requests without sending anyone two invites, tenant isolation.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, auditEvents, contacts, inviteRuns, outbox } from "../../db/schema";
import { INVITES_PER_REQUEST } from "../../app/server/staff/invites.server";
import { consume, LIMITS } from "../../app/server/rate-limit.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { Browser, ORIGIN, signInStaff } from "../support/http";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../app/worker";
import { countingD1 } from "../support/query-counter";
import { claim, emailsTo, linkTokenIn } from "../support/portal";

async function staffOf(firm: TestFirm, role: "admin" | "member" = "member") {
  const staff = await createStaff(firm, { role });
  return signInStaff(staff.email, PASSWORD);
}

/** POSTs a form with repeated fields (contact=…&contact=…), as the browser sends the checkboxes. */
function postMany(browser: Browser, path: string, fields: Array<[string, string]>) {
  return browser.fetch(path, {
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}

async function manyContacts(firm: TestFirm, n: number, prefix = "Bulk") {
  const rows = Array.from({ length: n }, (_, i) => ({ id: uid("c_"), firmId: firm.id, name: `${prefix} ${i}`, email: `${uid()}@bulk.test` }));
  for (let i = 0; i < rows.length; i += 20) await db.insert(contacts).values(rows.slice(i, i + 20));
  return rows;
}

async function invitesOf(firm: TestFirm) {
  return db.select().from(accessLinks).where(and(eq(accessLinks.firmId, firm.id), eq(accessLinks.purpose, "invite")));
}

async function inviteEmails(firm: TestFirm) {
  return db.select().from(outbox).where(and(eq(outbox.firmId, firm.id), eq(outbox.subject, `${firm.name} invites you to their client portal`)));
}

async function bulkEvents(firm: TestFirm) {
  return db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "access_link.invites_sent")));
}

function runIdOf(response: Response): string {
  const location = response.headers.get("location") ?? "";
  const match = /\/app\/contacts\/invite\?run=([A-Za-z0-9_-]+)$/.exec(location);
  if (!match) throw new Error(`no run in ${response.status} ${location}`);
  return match[1];
}

describe("bulk portal invites: selected rows", () => {
  it("the confirmation says how many will be emailed; sending emails exactly them, with one audit event", async () => {
    const firm = await createFirm();
    const other = await createFirm();
    const [a, b, c] = await manyContacts(firm, 3);
    const withLogin = await createContact(firm);
    await createPortalAccount(firm, withLogin);
    const foreign = await createContact(other);
    const browser = await staffOf(firm, "member");
    const selection = [a.id, b.id, c.id, withLogin.id, foreign.id];
    const query = new URLSearchParams([["scope", "selected"], ...selection.map((id) => ["contact", id])]);
    const review = await browser.fetch(`/app/contacts/invite?${query}`);
    const html = await review.text();
    expect(review.status, html.slice(0, 500)).toBe(200);
    expect(html).toContain("3 contacts will be emailed");
    expect(html).toContain("1 selected contact already has a portal account");
    expect(html).toContain("1 selected contact was not found");
    // Reviewing sends nothing.
    expect(await inviteEmails(firm)).toHaveLength(0);

    const response = await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "selected"], ...selection.map((id): [string, string] => ["contact", id])]);
    expect(response.status).toBe(303);
    const runId = runIdOf(response);
    const emails = await inviteEmails(firm);
    expect(emails.map((e) => e.toAddress).sort()).toEqual([a.email, b.email, c.email].sort());
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, foreign.email))).toHaveLength(0);
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, withLogin.email))).toHaveLength(0);
    expect((await invitesOf(firm)).map((l) => l.contactId).sort()).toEqual([a.id, b.id, c.id].sort());
    const events = await bulkEvents(firm);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].detail!)).toMatchObject({ count: 3, scope: "selected", run: runId });
    // No per-contact "access_link.sent" events: the bulk send is one entry in the log.
    expect(await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "access_link.sent")))).toHaveLength(0);

    const progress = await (await browser.fetch(`/app/contacts/invite?run=${runId}`)).text();
    expect(progress).toContain("Invites sent");
    expect(progress).toContain("3 of 3 handled");

    // The emailed link is a working invite link. The outbox holds it sealed (ADR 008): read the email
    // as the recipient gets it.
    const [delivered] = await emailsTo(emails[0].toAddress, 0);
    const url = linkTokenIn(delivered.textBody);
    const claimed = await claim(url);
    expect(claimed.response.status).toBe(302);
  });

  it("shows \"Invited <date>\" in the list and in the Client portal section", async () => {
    const firm = await createFirm();
    const [a, b] = await manyContacts(firm, 2, "Shown");
    const browser = await staffOf(firm);
    await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "selected"], ["contact", a.id]]);
    const today = new Date().toISOString().slice(0, 10);
    const list = await (await browser.fetch("/app/contacts")).text();
    const rowOf = (id: string) => new RegExp(`<tr>(?:(?!</tr>).)*${id}(?:(?!</tr>).)*</tr>`, "s").exec(list)?.[0] ?? "";
    expect(rowOf(a.id)).toContain(`Invited ${today}`);
    expect(rowOf(b.id)).toContain("No account");
    const details = await (await browser.fetch(`/app/contacts/${a.id}`)).text();
    expect(details).toContain(`Invited ${today}`);
    const notInvited = await (await browser.fetch(`/app/contacts/${b.id}`)).text();
    expect(notInvited).not.toContain("Invited ");
  });

  it("bad selections get a clear 400 and send nothing", async () => {
    const firm = await createFirm();
    const [a] = await manyContacts(firm, 1);
    const browser = await staffOf(firm);
    const cases: Array<Array<[string, string]>> = [
      [["intent", "send"]],
      [["intent", "send"], ["scope", "selected"]],
      [["intent", "send"], ["scope", "everyone"], ["contact", a.id]],
      [["intent", "send"], ["scope", "selected"], ["contact", "../etc"]],
      [["intent", "send"], ["scope", "selected"], ...Array.from({ length: 201 }, (_, i): [string, string] => ["contact", `id${i}`])],
      [["intent", "bogus"]],
    ];
    for (const fields of cases) {
      const response = await postMany(browser, "/app/contacts/invite", fields);
      expect(response.status, JSON.stringify(fields).slice(0, 100)).toBe(400);
      expect(await response.text()).toMatch(/class="alert alert-error"/);
    }
    for (const query of ["", "?scope=selected", "?scope=x", "?scope=selected&contact=%00"]) {
      expect((await browser.fetch(`/app/contacts/invite${query}`)).status, query).toBe(400);
    }
    expect(await inviteEmails(firm)).toHaveLength(0);
  });

  it("a selection whose contacts all have a login invites nobody (409) and logs nothing", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const browser = await staffOf(firm);
    const response = await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "selected"], ["contact", contact.id]]);
    expect(response.status).toBe(409);
    expect(await bulkEvents(firm)).toHaveLength(0);
  });
});

describe("bulk portal invites: everyone without a portal account", () => {
  it("more contacts than one request sends: the run continues from where it stopped, nobody twice, one audit event", async () => {
    const firm = await createFirm();
    const n = INVITES_PER_REQUEST + 37;
    const rows = await manyContacts(firm, n);
    const withLogin = await createContact(firm);
    await createPortalAccount(firm, withLogin);
    const deleted = await createContact(firm);
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, deleted.id));
    const other = await createFirm();
    await manyContacts(other, 3);
    const browser = await staffOf(firm, "member");

    const review = await (await browser.fetch("/app/contacts/invite?scope=without_account")).text();
    expect(review).toContain(`${n} contacts will be emailed`);

    const response = await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "without_account"]]);
    expect(response.status).toBe(303);
    const runId = runIdOf(response);
    expect(await invitesOf(firm)).toHaveLength(INVITES_PER_REQUEST);
    const page = await (await browser.fetch(`/app/contacts/invite?run=${runId}`)).text();
    expect(page).toContain("Sending invites");
    expect(page).toContain(`${INVITES_PER_REQUEST} of ${n} handled`);
    expect(page).toContain("Continue sending");

    // Two continuations at once (a double click, or the cron): each chunk is sent by one of them only.
    const [first, second] = await Promise.all([
      postMany(browser, "/app/contacts/invite", [["intent", "continue"], ["run", runId]]),
      postMany(browser, "/app/contacts/invite", [["intent", "continue"], ["run", runId]]),
    ]);
    expect([first.status, second.status]).toEqual([303, 303]);
    const links = await invitesOf(firm);
    expect(links).toHaveLength(n);
    expect(new Set(links.map((l) => l.contactId))).toEqual(new Set(rows.map((r) => r.id)));
    const emails = await inviteEmails(firm);
    expect(emails).toHaveLength(n);
    expect(new Set(emails.map((e) => e.toAddress)).size).toBe(n);
    const [run] = await db.select().from(inviteRuns).where(eq(inviteRuns.id, runId));
    expect(run).toMatchObject({ total: n, sent: n, skipped: 0 });
    expect(run.finishedAt).not.toBeNull();
    const events = await bulkEvents(firm);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].detail!)).toMatchObject({ count: n, scope: "without_account" });
    // The other firm's contacts were never touched.
    expect(await invitesOf(other)).toHaveLength(0);
    // A finished run continues to nothing.
    await postMany(browser, "/app/contacts/invite", [["intent", "continue"], ["run", runId]]);
    expect(await invitesOf(firm)).toHaveLength(n);
  });

  it("one request stays within D1's limits: under 1,000 queries, at most 100 bound parameters each", async () => {
    const firm = await createFirm();
    await manyContacts(firm, INVITES_PER_REQUEST + 20);
    const browser = await staffOf(firm);
    const { db: counting, log } = countingD1(env.DB);
    const ctx = createExecutionContext();
    const request = new Request(`${ORIGIN}/app/contacts/invite`, {
      method: "POST",
      body: new URLSearchParams([["intent", "send"], ["scope", "without_account"]]).toString(),
      headers: {
        cookie: browser.cookieHeader(),
        "content-type": "application/x-www-form-urlencoded",
        origin: ORIGIN,
        "sec-fetch-site": "same-origin",
        host: new URL(ORIGIN).host,
        "cf-connecting-ip": browser.ip,
      },
    });
    const response = await app.fetch(request, { ...env, DB: counting }, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(303);
    expect(await invitesOf(firm)).toHaveLength(INVITES_PER_REQUEST);
    expect(log.queries.length).toBeGreaterThan(2 * INVITES_PER_REQUEST);
    expect(log.queries.length).toBeLessThan(1_000);
    expect(Math.max(...log.queries.map((q) => q.params.length))).toBeLessThanOrEqual(100);
  });

  it("addresses over the per-address email limit are skipped and counted", async () => {
    const firm = await createFirm();
    const rows = await manyContacts(firm, 5);
    for (let i = 0; i < LIMITS.emailPerAddress.limit; i++) await consume(db, LIMITS.emailPerAddress, rows[0].email);
    const browser = await staffOf(firm);
    const response = await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "without_account"]]);
    const runId = runIdOf(response);
    const emails = await inviteEmails(firm);
    expect(emails.map((e) => e.toAddress).sort()).toEqual(rows.slice(1).map((r) => r.email).sort());
    const [run] = await db.select().from(inviteRuns).where(eq(inviteRuns.id, runId));
    expect(run).toMatchObject({ total: 5, sent: 4, skipped: 1 });
    expect(await (await browser.fetch(`/app/contacts/invite?run=${runId}`)).text()).toContain("1 skipped");
    // Sending again within the window: each address counts another email, the limit holds.
    for (let i = 0; i < 3; i++) await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "without_account"]]);
    const perAddress = new Map<string, number>();
    for (const e of await inviteEmails(firm)) perAddress.set(e.toAddress, (perAddress.get(e.toAddress) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBe(LIMITS.emailPerAddress.limit);
    expect(perAddress.has(rows[0].email)).toBe(false);
  });

  it("another firm's run id answers 404 and sends nothing", async () => {
    const firm = await createFirm();
    const other = await createFirm();
    await manyContacts(other, INVITES_PER_REQUEST + 5);
    const otherBrowser = await staffOf(other);
    const runId = runIdOf(await postMany(otherBrowser, "/app/contacts/invite", [["intent", "send"], ["scope", "without_account"]]));
    const before = (await invitesOf(other)).length;
    const browser = await staffOf(firm, "admin");
    expect((await browser.fetch(`/app/contacts/invite?run=${runId}`)).status).toBe(404);
    expect((await postMany(browser, "/app/contacts/invite", [["intent", "continue"], ["run", runId]])).status).toBe(404);
    expect((await postMany(browser, "/app/contacts/invite", [["intent", "continue"], ["run", "../x"]])).status).toBe(404);
    expect(await invitesOf(other)).toHaveLength(before);
  });

  it("the cron finishes a run whose page was closed", async () => {
    const firm = await createFirm();
    const n = INVITES_PER_REQUEST + 10;
    await manyContacts(firm, n);
    const browser = await staffOf(firm);
    const runId = runIdOf(await postMany(browser, "/app/contacts/invite", [["intent", "send"], ["scope", "without_account"]]));
    const { runScheduledJobs } = await import("../../app/server/scheduled.server");
    // Other tests' unfinished runs may be ahead in the queue; a few runs of the cron reach this one.
    for (let i = 0; i < 10; i++) {
      const [run] = await db.select().from(inviteRuns).where(eq(inviteRuns.id, runId));
      if (run.finishedAt !== null) break;
      await runScheduledJobs(env, db);
    }
    const [run] = await db.select().from(inviteRuns).where(eq(inviteRuns.id, runId));
    expect(run.finishedAt).not.toBeNull();
    expect(await invitesOf(firm)).toHaveLength(n);
  });
});
