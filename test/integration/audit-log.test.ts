// Issue 5 / PRODUCT.md "Audit log and notifications": admins browse their firm's security events, filter
// them by type, contact and date, page through them and export what they filtered; members cannot;
// other firms' events never show; a malformed query never breaks the page.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents } from "../../db/schema";
import { AUDIT_PAGE_SIZE, auditRow } from "../../app/server/audit.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { csvRecords, htmlText } from "../support/csv";
import { Browser, signInStaff } from "../support/http";
import { enableTotp, portalOwner } from "../support/two-factor";

const PAGE = "/app/settings/audit-log";
const EXPORT = "/app/settings/audit-log/export.csv";
const ROUTE_ID = "routes/app.settings.audit-log";

type LoaderEvent = { id: string; at: number; type: string; actorLabel: string | null; contactId: string | null; detail: string | null; ip: string | null };
type LoaderData = { rows: LoaderEvent[]; next: string | null; types: string[] };

/** The loader's JSON for a query (Remix 2 answers `?_data=<route id>` with it). */
async function loaderData(staff: Browser, params: Record<string, string> = {}): Promise<LoaderData> {
  const response = await staff.fetch(`${PAGE}?${new URLSearchParams({ ...params, _data: ROUTE_ID })}`);
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(200);
  return JSON.parse(text) as LoaderData;
}

/** Every event the page lists for a query, following "Older events" links as a person would. */
async function allPages(staff: Browser, params: Record<string, string> = {}): Promise<{ events: LoaderEvent[]; pages: number }> {
  const events: LoaderEvent[] = [];
  let search: string | null = `?${new URLSearchParams(params)}`;
  let pages = 0;
  while (search !== null) {
    const html = await (await staff.fetch(`${PAGE}${search}`)).text();
    const data = await loaderData(staff, Object.fromEntries(new URLSearchParams(search)));
    events.push(...data.rows);
    // The page shows every row of the loader (ids appear as contact links, types as text).
    for (const row of data.rows) expect(html).toContain(row.type);
    pages++;
    if (pages > 50) throw new Error("pagination does not end");
    const link = /<a[^>]*href="([^"]*)"[^>]*>Older events<\/a>/.exec(html);
    expect(Boolean(link), "an Older events link exactly when the loader has a next page").toBe(data.next !== null);
    search = link ? new URL(htmlText(link[1]), `http://portal.test${PAGE}`).search : null;
  }
  return { events, pages };
}

async function exportRows(staff: Browser, params: Record<string, string> = {}) {
  const response = await staff.fetch(`${EXPORT}?${new URLSearchParams(params)}`);
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(200);
  return { response, records: csvRecords(text) };
}

/** What a row and an exported line have in common. */
const fromList = (e: LoaderEvent) => ({ time: new Date(e.at).toISOString(), type: e.type, contact: e.contactId ?? "", detail: e.detail ?? "" });
const fromCsv = (r: Record<string, string>) => ({ time: r.time_utc, type: r.event, contact: r.contact_id, detail: r.detail });

async function adminOf(firm: TestFirm, ip = "198.51.100.7") {
  const admin = await createStaff(firm, { role: "admin" });
  return { admin, browser: await signInStaff(admin.email, PASSWORD, new Browser(ip)) };
}

/** A firm whose log holds known events on known days, for two contacts. */
async function seededLog() {
  const firm = await createFirm();
  const alice = await createContact(firm, { name: "Alice Audit" });
  const bob = await createContact(firm, { name: "Bob Audit" });
  const at = (iso: string) => Date.parse(iso);
  const events = [
    { type: "client.signed_in", contactId: alice.id, at: at("2026-02-28T23:59:59.999Z") },
    { type: "client.signed_in", contactId: alice.id, at: at("2026-03-01T00:00:00.000Z") },
    { type: "client.sign_in_failed", contactId: bob.id, at: at("2026-03-10T12:00:00.000Z") },
    { type: "client.two_factor_reset", contactId: alice.id, at: at("2026-03-15T08:30:00.000Z"), detail: { reason: "=lost phone" } },
    { type: "client.signed_in", contactId: bob.id, at: at("2026-03-31T23:59:59.999Z") },
    { type: "client.signed_in", contactId: bob.id, at: at("2026-04-01T00:00:00.000Z") },
    { type: "firm.security_mode_changed", contactId: null, at: at("2026-03-20T10:00:00.000Z"), detail: { from: "magic_link_and_login", to: "magic_link_only" } },
  ];
  await db.insert(auditEvents).values(
    events.map((e) =>
      auditRow({ firmId: firm.id, type: e.type, contactId: e.contactId, detail: e.detail, at: e.at, ip: "192.0.2.1", userAgent: "Test", actor: { type: "client", id: e.contactId, label: "x" } }),
    ),
  );
  // Another firm's events, same types, same days, even pointing at this firm's contact ids.
  const other = await createFirm();
  await db.insert(auditEvents).values(
    events.map((e) => auditRow({ firmId: other.id, type: e.type, contactId: e.contactId, at: e.at, ip: "192.0.2.99", actor: { type: "system" } })),
  );
  const { admin, browser } = await adminOf(firm);
  return { firm, other, alice, bob, events, admin, staff: browser };
}

describe("audit log: an admin sees the firm's security events", () => {
  it("after a client sign-in, a mode switch and a 2FA reset, with who, whom, IP and browser", async () => {
    const firm = await createFirm();
    const { admin, browser: staff } = await adminOf(firm, "198.51.100.7");
    // A client signs in with their password.
    const olivia = await createContact(firm, { name: "Olivia Events" });
    await createPortalAccount(firm, olivia);
    const client = new Browser("198.51.100.21");
    const signIn = await client.post(`/portal/${firm.slug}/login`, { email: olivia.email, password: PASSWORD }, { "user-agent": "OliviaBrowser/1.0" });
    expect(signIn.status).toBe(302);
    // The admin resets another client's 2FA…
    const marcus = await createContact(firm, { name: "Marcus Events" });
    const account = await createPortalAccount(firm, marcus);
    await enableTotp(portalOwner(account));
    const reset = await staff.post(`/app/contacts/${marcus.id}/login-details`, { intent: "deactivate-2fa", reason: "Lost his phone", confirm: "yes" });
    expect(reset.status).toBe(200);
    // …and switches the firm to 2FA mode.
    const mode = await staff.post("/app/settings/client-portal/security", { mode: "magic_link_and_login_2fa", intent: "confirm" });
    expect(mode.status).toBe(200);

    const { rows, types } = await loaderData(staff);
    const signedIn = rows.find((e) => e.type === "client.signed_in" && e.contactId === olivia.id);
    expect(signedIn).toMatchObject({ ip: "198.51.100.21" });
    const resetEvent = rows.find((e) => e.type === "client.two_factor_reset");
    expect(resetEvent).toMatchObject({ contactId: marcus.id, actorLabel: expect.stringContaining(admin.email), ip: "198.51.100.7" });
    expect(JSON.parse(resetEvent!.detail!)).toEqual({ reason: "Lost his phone" });
    expect(rows.some((e) => e.type === "firm.security_mode_changed")).toBe(true);
    expect(types).toEqual(expect.arrayContaining(["client.signed_in", "client.two_factor_reset", "firm.security_mode_changed"]));
    // Newest first.
    expect(rows.map((e) => e.at)).toEqual([...rows.map((e) => e.at)].sort((a, b) => b - a));

    const response = await staff.fetch(PAGE);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const text of ["client.signed_in", "client.two_factor_reset", "firm.security_mode_changed", `/app/contacts/${marcus.id}`, "198.51.100.21", "OliviaBrowser/1.0"]) {
      expect(html).toContain(text);
    }
  });

  it("filters by type, by contact, by date (whole UTC days, both ends included) and by all three", async () => {
    const { staff, alice, bob } = await seededLog();
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ type: "client.signed_in" }, ["2026-04-01T00:00:00.000Z", "2026-03-31T23:59:59.999Z", "2026-03-01T00:00:00.000Z", "2026-02-28T23:59:59.999Z"]],
      [{ type: "client.two_factor_reset" }, ["2026-03-15T08:30:00.000Z"]],
      [{ contact: alice.id }, ["2026-03-15T08:30:00.000Z", "2026-03-01T00:00:00.000Z", "2026-02-28T23:59:59.999Z"]],
      [{ from: "2026-03-01", to: "2026-03-31" }, ["2026-03-31T23:59:59.999Z", "2026-03-20T10:00:00.000Z", "2026-03-15T08:30:00.000Z", "2026-03-10T12:00:00.000Z", "2026-03-01T00:00:00.000Z"]],
      [{ from: "2026-04-01", to: "2026-04-01" }, ["2026-04-01T00:00:00.000Z"]],
      [{ to: "2026-02-28" }, ["2026-02-28T23:59:59.999Z"]],
      [{ from: "2026-03-15", to: "2026-03-15" }, ["2026-03-15T08:30:00.000Z"]],
      [{ type: "client.signed_in", contact: bob.id, from: "2026-03-01", to: "2026-03-31" }, ["2026-03-31T23:59:59.999Z"]],
      [{ type: "no.such_event" }, []],
      [{ from: "2026-04-02", to: "2026-03-01" }, []],
    ];
    for (const [params, times] of cases) {
      const { events } = await allPages(staff, params);
      expect(events.map((e) => new Date(e.at).toISOString()), JSON.stringify(params)).toEqual(times);
      const { records } = await exportRows(staff, params);
      expect(records.map(fromCsv), `export ${JSON.stringify(params)}`).toEqual(events.map(fromList));
    }
  });

  it("the page's filter form keeps the filters, and its Export CSV link carries them", async () => {
    const { staff, alice } = await seededLog();
    const html = await (await staff.fetch(`${PAGE}?type=client.signed_in&contact=${alice.id}&from=2026-03-01&to=2026-03-31`)).text();
    const href = /href="(\/app\/settings\/audit-log\/export\.csv[^"]*)"/.exec(html)?.[1];
    expect(href && htmlText(href)).toBe(`${EXPORT}?type=client.signed_in&contact=${alice.id}&from=2026-03-01&to=2026-03-31`);
  });

  it("paginates by `before`: every event exactly once, newest first, ties on the time included, with the filter kept", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const start = Date.UTC(2026, 0, 1);
    const total = AUDIT_PAGE_SIZE * 2 + 17;
    // Groups of five events share a millisecond, so page boundaries fall inside ties.
    const rows = Array.from({ length: total }, (_, i) =>
      auditRow({ firmId: firm.id, type: i % 2 ? "client.signed_in" : "access_link.sent", contactId: contact.id, at: start + Math.floor(i / 5) * 1000, actor: { type: "system" } }),
    );
    for (let i = 0; i < rows.length; i += 8) await db.insert(auditEvents).values(rows.slice(i, i + 8));
    const { browser: staff } = await adminOf(firm);
    // The admin's own sign-in is in the log too.
    const ours = (events: LoaderEvent[]) => events.filter((e) => e.contactId === contact.id);

    const { events, pages } = await allPages(staff);
    expect(pages).toBe(3);
    expect(ours(events)).toHaveLength(total);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(new Set(ours(events).map((e) => e.id))).toEqual(new Set(rows.map((r) => r.id)));
    const order = events.map((e) => [e.at, e.id] as const);
    const sorted = [...order].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0));
    expect(order).toEqual(sorted);

    const signedIn = await allPages(staff, { type: "client.signed_in", contact: contact.id });
    expect(signedIn.pages).toBe(2);
    expect(signedIn.events.map((e) => e.id).sort()).toEqual(rows.filter((r) => r.type === "client.signed_in").map((r) => r.id).sort());

    // The export is not paged: it holds what every page holds, in the same order.
    const { records } = await exportRows(staff);
    expect(records.map(fromCsv)).toEqual(events.map(fromList));
  });

  it("a `before` cursor from another firm's events only narrows this firm's own log", async () => {
    const { staff, other, events } = await seededLog();
    const [foreign] = await db.select().from(auditEvents).where(eq(auditEvents.firmId, other.id)).limit(1);
    const data = await loaderData(staff, { before: `${Date.UTC(2030, 0, 1)}_${foreign.id}` });
    expect(data.rows.every((e) => events.some((seeded) => seeded.at === e.at) || e.type === "staff.signed_in")).toBe(true);
    expect(data.rows.some((e) => e.ip === "192.0.2.99")).toBe(false);
  });
});

describe("audit log: the CSV export", () => {
  it("is an attachment, not cached, with a header row and formula-safe cells", async () => {
    const { staff, firm } = await seededLog();
    const { response, records } = await exportRows(staff, { type: "client.two_factor_reset" });
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="audit-log-${firm.slug}.csv"`);
    expect(response.headers.get("cache-control")).toContain("no-store");
    expect(records).toHaveLength(1);
    expect(Object.keys(records[0])).toEqual(["time_utc", "event", "actor_type", "actor", "contact_id", "detail", "ip", "user_agent"]);
    expect(JSON.parse(records[0].detail)).toEqual({ reason: "=lost phone" });
    for (const record of records) for (const value of Object.values(record)) expect(value).not.toMatch(/^[=+\-@]/);
  });
});

describe("audit log: who can see it", () => {
  it("a member gets 403 on the page and on the export, and no event data", async () => {
    const { firm } = await seededLog();
    const member = await createStaff(firm, { role: "member" });
    const staff = await signInStaff(member.email, PASSWORD);
    for (const path of [PAGE, `${PAGE}?_data=${ROUTE_ID}`, EXPORT, `${EXPORT}?type=client.signed_in`]) {
      const response = await staff.fetch(path);
      expect(response.status, path).toBe(403);
      const body = await response.text();
      expect(body).not.toContain("client.signed_in");
      expect(body).not.toContain("192.0.2.1");
    }
  });

  it("signed-out visitors are sent to sign in", async () => {
    for (const path of [PAGE, EXPORT]) {
      const response = await new Browser().fetch(path);
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login/);
    }
  });

  it("another firm's events never appear: not in the list, the types, a contact filter or the export", async () => {
    const { staff, other, alice } = await seededLog();
    // The other firm's own contact and real activity.
    const oscar = await createContact(other, { name: "Oscar Other" });
    await createPortalAccount(other, oscar);
    expect((await new Browser("192.0.2.99").post(`/portal/${other.slug}/login`, { email: oscar.email, password: PASSWORD })).status).toBe(302);
    await db.insert(auditEvents).values(auditRow({ firmId: other.id, type: "other.only_event", contactId: oscar.id, ip: "192.0.2.99", actor: { type: "system" } }));

    const { events } = await allPages(staff);
    const { types } = await loaderData(staff);
    const { records } = await exportRows(staff);
    expect(events.length).toBeGreaterThan(0);
    expect(events.some((e) => e.ip === "192.0.2.99" || e.contactId === oscar.id)).toBe(false);
    expect(types).not.toContain("other.only_event");
    expect(records.some((r) => r.ip === "192.0.2.99" || r.contact_id === oscar.id || r.event === "other.only_event")).toBe(false);
    expect(records).toHaveLength(events.length);
    // Filtering on the other firm's contact, or on its event type, shows nothing.
    expect((await loaderData(staff, { contact: oscar.id })).rows).toEqual([]);
    expect((await loaderData(staff, { type: "other.only_event" })).rows).toEqual([]);
    expect((await exportRows(staff, { contact: oscar.id })).records).toEqual([]);
    // This firm's contact filter shows only this firm's rows, though the other firm logged the same ids.
    const aliceRows = (await loaderData(staff, { contact: alice.id })).rows;
    expect(aliceRows).toHaveLength(3);
    expect(aliceRows.every((e) => e.ip === "192.0.2.1")).toBe(true);
  });
});

describe("audit log: malformed query parameters", () => {
  const bad: Array<Record<string, string> | string> = [
    { type: "x".repeat(500) },
    { type: "DROP TABLE audit_events;--" },
    { contact: "../../etc/passwd" },
    { contact: "a".repeat(1000) },
    { from: "yesterday" },
    { from: "2026-13-01" },
    { to: "2026-02-31" },
    { from: "0000-00-00", to: "9999-99-99" },
    { from: "2026-03-01T00:00:00Z" },
    { before: "abc" },
    { before: "_" },
    { before: "1_" },
    { before: "99999999999999999999999999_zzz" },
    { before: `-1_${uid()}` },
    { before: "1e400_x" },
    "type=a&type=b&contact=c&contact=d",
    "from=%ZZ&to=%00",
    "before=%00_%00",
  ];
  for (const params of bad) {
    const search = typeof params === "string" ? params : new URLSearchParams(params).toString();
    it(`?${search.slice(0, 60)} answers without a server error, page and export alike`, async () => {
      const { staff, events } = await seededLog();
      for (const path of [`${PAGE}?${search}`, `${EXPORT}?${search}`, `${PAGE}?${search}&_data=${ROUTE_ID}`]) {
        const response = await staff.fetch(path);
        const body = await response.text();
        expect(response.status, `${path}: ${body.slice(0, 300)}`).toBeLessThan(500);
        expect(response.status, path).toBe(200);
      }
      // A malformed filter is ignored, never turned into "everything of every firm" or a crash.
      const data = await loaderData(staff, Object.fromEntries(new URLSearchParams(search)));
      expect(data.rows.every((e) => e.ip !== "192.0.2.99")).toBe(true);
      expect(data.rows.length).toBeLessThanOrEqual(events.length + 1);
    });
  }

  it("an impossible date is ignored, rather than hiding every event or meaning another day", async () => {
    const { staff, events } = await seededLog();
    for (const params of [{ from: "2026-13-01" }, { to: "0000-00-00" }, { to: "2026-02-31" }, { from: "2026-02-30", to: "2026-02-30" }] as Record<string, string>[]) {
      const data = await loaderData(staff, params);
      expect(data.rows.length, JSON.stringify(params)).toBe(events.length + 1); // + the admin's own sign-in
      const { records } = await exportRows(staff, params);
      expect(records).toHaveLength(events.length + 1);
    }
  });
});
