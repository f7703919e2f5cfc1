// Issue 7: at most 3 D1 queries per authenticated page load, session lookup included.
// Issue 14: D1 round trips per page view (a batch is one; each statement run outside a batch is one).
// The target is one round trip in the common case and two where a write is due; today's loaders look
// the session up first and then load the page (2, or 3 with the last-seen write). The counts below
// hold today's as a ceiling, and the `PENDING (issue 14)` tests state the target: they are expected to
// fail today (it.fails) and start failing the suite the day a page meets the target, so the ceiling is
// lowered then. Listed in docs/performance.md.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../db/schema";
import { TOUCH_INTERVAL_MS } from "../../app/server/auth/sessions.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { signInStaff } from "../support/http";
import { countedLoad } from "../support/queries";

const QUERY_BUDGET = 3;
/** Issue 14's budget: one round trip per page view, two where a write (moving last-seen) is due. */
const ROUND_TRIP_TARGET = { view: 1, withWrite: 2 };
/** Today's counts, held as "at most" until the loaders fold the session into the page's batch. */
const ROUND_TRIPS_TODAY = { view: 2, withWrite: 3 };

async function staffWithContacts() {
  const firm = await createFirm();
  const staff = await createStaff(firm);
  const contacts = [];
  for (let i = 0; i < 5; i++) contacts.push(await createContact(firm, { name: `Budget Contact ${i}` }));
  await createPortalAccount(firm, contacts[0]);
  const browser = await signInStaff(staff.email, PASSWORD);
  return { firm, staff, contacts, browser };
}

function describeQueries(log: { queries: Array<{ sql: string }> }): string {
  return log.queries.map((q, i) => `${i + 1}. ${q.sql}`).join("\n");
}

describe("D1 query budget per authenticated page load", () => {
  it(`/app/contacts runs at most ${QUERY_BUDGET} queries`, async () => {
    const { browser } = await staffWithContacts();
    const { response, body, log } = await countedLoad(browser, "/app/contacts");
    expect(response.status).toBe(200);
    expect(body).toContain("Budget Contact 0");
    // The counter must see the session lookup and the page query, or a count of 0 would pass.
    expect(log.queries.some((q) => /from "sessions"/.test(q.sql))).toBe(true);
    expect(log.queries.some((q) => /from "contacts"/.test(q.sql))).toBe(true);
    expect(log.queries.length, describeQueries(log)).toBeLessThanOrEqual(QUERY_BUDGET);
    expect(log.roundTrips, describeQueries(log)).toBeGreaterThan(0);
    expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIPS_TODAY.view);
  });

  it(`/app/contacts/:id runs at most ${QUERY_BUDGET} queries`, async () => {
    const { browser, contacts } = await staffWithContacts();
    const { response, body, log } = await countedLoad(browser, `/app/contacts/${contacts[0].id}`);
    expect(response.status).toBe(200);
    expect(body).toContain("Budget Contact 0");
    expect(log.queries.some((q) => /from "sessions"/.test(q.sql))).toBe(true);
    expect(log.queries.length, describeQueries(log)).toBeLessThanOrEqual(QUERY_BUDGET);
    expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIPS_TODAY.view);
  });

  it("a client-side navigation (?_data) to the contacts page stays within the budget", async () => {
    const { browser } = await staffWithContacts();
    const { response, log } = await countedLoad(browser, "/app/contacts?_data=routes%2Fapp.contacts._index");
    expect(response.status).toBe(200);
    expect(log.queries.length).toBeGreaterThan(0);
    expect(log.queries.length, describeQueries(log)).toBeLessThanOrEqual(QUERY_BUDGET);
    expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIPS_TODAY.view);
  });

  it("stays within the budget on the load that moves the session's last-seen time", async () => {
    const { browser, contacts } = await staffWithContacts();
    const [id] = browser.cookies.get("__Host-staff_session")!.split(".");
    for (const path of ["/app/contacts", `/app/contacts/${contacts[1].id}`]) {
      await db
        .update(sessions)
        .set({ lastSeenAt: Date.now() - TOUCH_INTERVAL_MS - 60_000 })
        .where(eq(sessions.id, id));
      const { response, log } = await countedLoad(browser, path);
      expect(response.status).toBe(200);
      expect(log.queries.some((q) => /^update "sessions"/.test(q.sql)), describeQueries(log)).toBe(true);
      expect(log.queries.length, describeQueries(log)).toBeLessThanOrEqual(QUERY_BUDGET);
      expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIPS_TODAY.withWrite);
    }
  });

  it("a page view after a fresh touch writes nothing", async () => {
    const { browser } = await staffWithContacts();
    const { log } = await countedLoad(browser, "/app/contacts");
    const writes = log.queries.filter((q) => /^\s*(insert|update|delete)/i.test(q.sql));
    expect(writes, describeQueries(log)).toEqual([]);
  });

  // Issue 14's target, not met yet: it.fails passes while the page needs more round trips and fails
  // (flagging the change) once it needs no more than the target.
  for (const page of ["/app/contacts", "/app/contacts/:id"]) {
    it.fails(`PENDING (issue 14): ${page} in ${ROUND_TRIP_TARGET.view} D1 round trip`, async () => {
      const { browser, contacts } = await staffWithContacts();
      const { response, log } = await countedLoad(browser, page.replace(":id", contacts[0].id));
      expect(response.status).toBe(200);
      expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIP_TARGET.view);
    });
  }

  it.fails(`PENDING (issue 14): the load that moves last-seen in ${ROUND_TRIP_TARGET.withWrite} D1 round trips`, async () => {
    const { browser } = await staffWithContacts();
    const [id] = browser.cookies.get("__Host-staff_session")!.split(".");
    await db
      .update(sessions)
      .set({ lastSeenAt: Date.now() - TOUCH_INTERVAL_MS - 60_000 })
      .where(eq(sessions.id, id));
    const { response, log } = await countedLoad(browser, "/app/contacts");
    expect(response.status).toBe(200);
    expect(log.queries.some((q) => /^update "sessions"/.test(q.sql)), describeQueries(log)).toBe(true);
    expect(log.roundTrips, describeQueries(log)).toBeLessThanOrEqual(ROUND_TRIP_TARGET.withWrite);
  });
});
