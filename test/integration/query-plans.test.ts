// Issue 7: every query on a hot path uses an index. The page queries are not copied here: they are
// recorded from real page loads and replayed under EXPLAIN QUERY PLAN, so the test follows the code.
import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { requests } from "../../db/schema";
import { createDb } from "../../app/server/db.server";
import { loadPortalAuth } from "../../app/server/portal/portal-auth.server";
import { runScheduledJobs } from "../../app/server/scheduled.server";
import { countingD1 } from "../support/query-counter";
import { env } from "cloudflare:workers";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { createRequest } from "../support/requests";
import { ORIGIN, signInStaff } from "../support/http";
import { countedLoad, fullScans, queryPlan } from "../support/queries";

async function expectIndexed(label: string, sql: string, params: unknown[]) {
  const plan = await queryPlan(sql, params);
  expect(plan.length, `${label}: no plan`).toBeGreaterThan(0);
  const details = plan.map((row) => row.detail).join("\n");
  expect(fullScans(plan), `${label}\n${sql}\n${details}`).toEqual([]);
}

describe("the full-scan check itself", () => {
  it("flags a filter on an unindexed column and a scan of a covering index", async () => {
    expect(fullScans(await queryPlan("SELECT id FROM contacts WHERE phone = ?", ["1"]))).toEqual(["SCAN contacts"]);
    const counted = fullScans(await queryPlan("SELECT count(*) FROM sessions"));
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatch(/^SCAN sessions USING COVERING INDEX/);
  });

  it("passes an index search", async () => {
    expect(fullScans(await queryPlan("SELECT id FROM contacts WHERE firm_id = ? ORDER BY name LIMIT 10", ["f"]))).toEqual([]);
  });
});

describe("hot-path queries use an index (EXPLAIN QUERY PLAN)", () => {
  it("staff pages: session lookup, contacts list (first page, next page, filters) and contact details", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const contact = await createContact(firm, { name: "Plan Contact" });
    await createPortalAccount(firm, contact);
    const browser = await signInStaff(staff.email, PASSWORD);
    const after = encodeURIComponent(`Plan Contact\u0000${contact.id}`);
    const { request } = await createRequest(firm, contact);
    const paths = [
      "/app/contacts",
      `/app/contacts?after=${after}`,
      "/app/contacts?filter=has_account",
      "/app/contacts?filter=two_factor_on",
      `/app/contacts/${contact.id}`,
      `/app/contacts/${contact.id}/edit`,
      "/app/requests",
      `/app/requests/${request.id}`,
      "/app/settings/audit-log",
      "/app/settings/client-portal/security",
    ];
    const selects = new Map<string, unknown[]>();
    for (const path of paths) {
      const { response, log } = await countedLoad(browser, path);
      expect(response.status, path).toBe(200);
      for (const q of log.queries) if (/^\s*select/i.test(q.sql)) selects.set(q.sql, q.params);
    }
    const sqls = [...selects.keys()];
    // Recording must have caught the queries this test is about.
    // The session lookup: the session row, and its staff member and firm through the session id (ADR 020).
    expect(sqls.some((s) => /from "sessions"/.test(s))).toBe(true);
    expect(sqls.some((s) => /from "staff_users"/.test(s) && /FROM "sessions" AS "s"/.test(s))).toBe(true);
    expect(sqls.some((s) => /from "contacts"/.test(s) && /limit/i.test(s))).toBe(true);
    expect(sqls.some((s) => /"contacts"\."id" = \?/.test(s))).toBe(true);
    for (const [sql, params] of selects) await expectIndexed("staff page query", sql, params);
  });

  it("client pages: the portal session lookup and the requests and account pages", async () => {
    const { db: counting, log } = countingD1(env.DB);
    const request = new Request(`${ORIGIN}/portal/x/requests`, { headers: { cookie: "__Host-portal_session=some-id.some-secret" } });
    await loadPortalAuth(createDb(counting), request);
    // The session, its firm, contact and account: four single-table reads in one batch.
    expect(log.queries).toHaveLength(4);
    expect(log.roundTrips).toBe(1);
    for (const q of log.queries) await expectIndexed("portal session lookup", q.sql, q.params);

    const firm = await createFirm();
    const contact = await createContact(firm, { name: "Plan Client" });
    const account = await createPortalAccount(firm, contact);
    const { request: r } = await createRequest(firm, contact);
    const browser = await clientBrowser(account);
    const selects = new Map<string, unknown[]>();
    for (const path of [`/portal/${firm.slug}/requests`, `/portal/${firm.slug}/requests/${r.id}`, `/portal/${firm.slug}/account`]) {
      const load = await countedLoad(browser, path);
      expect(load.response.status, path).toBe(200);
      for (const q of load.log.queries) if (/^\s*select/i.test(q.sql)) selects.set(q.sql, q.params);
    }
    expect([...selects.keys()].some((s) => /from "requests"/.test(s))).toBe(true);
    for (const [sql, params] of selects) await expectIndexed("portal page query", sql, params);
  });

  it("the scheduled job: every statement it runs across all firms (reminders, invites, outbox, imports…)", async () => {
    const { db: counting, log } = countingD1(env.DB);
    await runScheduledJobs(env, createDb(counting));
    // Its deletes and updates too: a prune that reads the whole table to find old rows is a scan as well.
    const statements = new Map(log.queries.filter((q) => /^\s*(select|update|delete)/i.test(q.sql)).map((q) => [q.sql, q.params]));
    // Abandoned contact imports (ADR 013) were found by reading the whole table, on every run.
    expect([...statements.keys()].some((s) => /from "contact_imports"/.test(s))).toBe(true);
    expect([...statements.keys()].some((s) => /^\s*delete/i.test(s))).toBe(true);
    for (const [sql, params] of statements) await expectIndexed("scheduled job statement", sql, params);
  });

  it("a contact's requests, newest due date first", async () => {
    // The Details tab does not list requests yet; this is the query it needs, kept in drizzle so a
    // later page can reuse the same shape.
    const query = db
      .select()
      .from(requests)
      .where(and(eq(requests.firmId, "firm_x"), eq(requests.contactId, "contact_x")))
      .orderBy(asc(requests.dueDate))
      .toSQL();
    await expectIndexed("requests by contact", query.sql, query.params);
  });
});
