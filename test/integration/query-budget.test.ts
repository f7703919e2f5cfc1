// Issue 14: D1 round trips per authenticated page view (a batch is one; each statement run outside a
// batch is one). The session, its firm and contact and the page's data go out in one batch
// (app/server/read-batch.server.ts): one round trip in the common case, two where a write is due (moving
// the session's last-seen time). Statements inside the batch are cheap next to a round trip but still
// bounded, so a page cannot grow a query per row. Listed in docs/performance.md.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../db/schema";
import { TOUCH_INTERVAL_MS } from "../../app/server/auth/sessions.server";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { countedLoad } from "../support/queries";
import { createRequest } from "../support/requests";

const ROUND_TRIPS = { view: 1, withWrite: 2 };
/** Statements in a page view's batch: the session lookup (3-4 single-table reads) and the page's own. */
const STATEMENT_BUDGET = 8;

async function fixture() {
  const firm = await createFirm();
  const staff = await createStaff(firm);
  const contacts = [];
  for (let i = 0; i < 5; i++) contacts.push(await createContact(firm, { name: `Budget Contact ${i}` }));
  const account = await createPortalAccount(firm, contacts[0]);
  const { request } = await createRequest(firm, contacts[0], { items: [["task", "Sign the engagement letter"], ["file", "Upload your P60"]] });
  const staffBrowser = await signInStaff(staff.email, PASSWORD);
  const client = await clientBrowser(account);
  return { firm, staff, contacts, account, request, staffBrowser, client };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

/**
 * Every authenticated page view: who views it, where, text that proves the page rendered its data, and
 * (`reads`) a table the page's own query reads, so a page that skipped its data could not pass.
 */
type Page = { name: string; who: "staff" | "client"; path: (f: Fixture) => string; shows: (f: Fixture) => string; reads?: RegExp };
const STAFF = "__Host-staff_session";
const CLIENT = "__Host-portal_session";
const PAGES: Page[] = [
  { name: "/app/contacts", who: "staff", path: () => "/app/contacts", shows: () => "Budget Contact 0" },
  { name: "/app/contacts (client-side navigation)", who: "staff", path: () => "/app/contacts?_data=routes%2Fapp.contacts._index", shows: () => "Budget Contact 0" },
  { name: "/app/contacts/:id", who: "staff", path: (f) => `/app/contacts/${f.contacts[0].id}`, shows: () => "Budget Contact 0" },
  { name: "/app/contacts/:id/edit", who: "staff", path: (f) => `/app/contacts/${f.contacts[1].id}/edit`, shows: () => "Budget Contact 1" },
  { name: "/app/contacts/:id/login-details", who: "staff", path: (f) => `/app/contacts/${f.contacts[0].id}/login-details`, shows: (f) => f.account.email },
  { name: "/app/contacts/new", who: "staff", path: () => "/app/contacts/new", shows: () => "Add contact" },
  { name: "/app/contacts/import", who: "staff", path: () => "/app/contacts/import", shows: () => "Import contacts", reads: /"contact_imports"/ },
  { name: "/app/contacts/invite", who: "staff", path: () => "/app/contacts/invite?scope=without_account", shows: () => "Send portal invite", reads: /count\(\*\)/ },
  { name: "/app/requests", who: "staff", path: () => "/app/requests", shows: (f) => f.request.title },
  { name: "/app/requests/new", who: "staff", path: () => "/app/requests/new", shows: () => "Budget Contact 3" },
  { name: "/app/requests/:id", who: "staff", path: (f) => `/app/requests/${f.request.id}`, shows: () => "Upload your P60" },
  { name: "/app/settings/client-portal/security", who: "staff", path: () => "/app/settings/client-portal/security", shows: () => "Security and Two-Factor", reads: /'contacts'/ },
  { name: "/app/settings/audit-log", who: "staff", path: () => "/app/settings/audit-log", shows: () => "Audit log", reads: /"audit_events"/ },
  { name: "/app/settings/api-keys", who: "staff", path: () => "/app/settings/api-keys", shows: () => "API keys", reads: /"api_keys"/ },
  { name: "/app/account", who: "staff", path: () => "/app/account", shows: (f) => f.staff.name },
  { name: "/portal/:firm/requests", who: "client", path: (f) => `/portal/${f.firm.slug}/requests`, shows: (f) => f.request.title },
  { name: "/portal/:firm/requests/:id", who: "client", path: (f) => `/portal/${f.firm.slug}/requests/${f.request.id}`, shows: () => "Upload your P60" },
  { name: "/portal/:firm/account", who: "client", path: (f) => `/portal/${f.firm.slug}/account`, shows: () => "Your account", reads: /"audit_events"/ },
];

const cookieOf = (page: Page) => (page.who === "staff" ? STAFF : CLIENT);

function describeQueries(log: { queries: Array<{ sql: string; batched: boolean }> }): string {
  return log.queries.map((q, i) => `${i + 1}.${q.batched ? " [batch]" : ""} ${q.sql}`).join("\n");
}

function browserOf(f: Fixture, who: "staff" | "client"): Browser {
  return who === "staff" ? f.staffBrowser : f.client;
}

async function makeTouchDue(browser: Browser, cookie: string) {
  const [id] = browser.cookies.get(cookie)!.split(".");
  await db.update(sessions).set({ lastSeenAt: Date.now() - TOUCH_INTERVAL_MS - 60_000 }).where(eq(sessions.id, id));
}

describe("D1 round trips per authenticated page view (issue 14)", () => {
  for (const page of PAGES) {
    it(`${page.name}: ${ROUND_TRIPS.view} round trip with the session, firm and page data in it`, async () => {
      const f = await fixture();
      const { response, body, log } = await countedLoad(browserOf(f, page.who), page.path(f));
      expect(response.status).toBe(200);
      expect(body).toContain(page.shows(f));
      // The counter must see the session lookup, or a count of 1 could be a page that skipped it.
      expect(log.queries.some((q) => /from "sessions"/.test(q.sql)), describeQueries(log)).toBe(true);
      if (page.reads) expect(log.queries.some((q) => page.reads!.test(q.sql)), describeQueries(log)).toBe(true);
      expect(log.roundTrips, describeQueries(log)).toBe(ROUND_TRIPS.view);
      expect(log.queries.length, describeQueries(log)).toBeLessThanOrEqual(STATEMENT_BUDGET);
      const writes = log.queries.filter((q) => /^\s*(insert|update|delete)/i.test(q.sql));
      expect(writes, describeQueries(log)).toEqual([]);
    });

    it(`${page.name}: at most ${ROUND_TRIPS.withWrite} round trips on the view that moves last-seen`, async () => {
      const f = await fixture();
      const browser = browserOf(f, page.who);
      await makeTouchDue(browser, cookieOf(page));
      const { response, log } = await countedLoad(browser, page.path(f));
      expect(response.status).toBe(200);
      expect(log.queries.some((q) => /^update "sessions"/.test(q.sql)), describeQueries(log)).toBe(true);
      expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIPS.withWrite);
    });
  }

  it("a portal's public pages (the layout and the page both look the firm up) take one round trip", async () => {
    const f = await fixture();
    for (const path of ["", "/login", "/signup", "/forgot-password", "/help/two-factor"]) {
      const { response, body, log } = await countedLoad(new Browser("192.0.2.77"), `/portal/${f.firm.slug}${path}`);
      expect(response.status, path).toBe(200);
      expect(body, path).toContain(f.firm.name);
      expect(log.roundTrips, `${path}\n${describeQueries(log)}`).toBe(1);
    }
  });

  it("rows read for a cookie that is not a valid session never reach the page", async () => {
    const f = await fixture();
    // The right session id with a wrong secret: the page's rows are read in the same batch, then dropped.
    for (const page of PAGES) {
      const browser = browserOf(f, page.who);
      const [id] = browser.cookies.get(cookieOf(page))!.split(".");
      const forged = new Browser(browser.ip);
      forged.cookies.set(cookieOf(page), `${id}.${"x".repeat(43)}`);
      const { response, body } = await countedLoad(forged, page.path(f));
      // Sent to sign in: a redirect, or for a client-side navigation Remix's 204 with X-Remix-Redirect.
      const redirected = (response.status >= 300 && response.status < 400) || response.headers.has("x-remix-redirect");
      expect(redirected, `${page.name}: ${response.status}`).toBe(true);
      if (!page.reads) expect(body, page.name).not.toContain(page.shows(f));
    }
  });
});
