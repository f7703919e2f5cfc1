// Issue 5: the contacts list and its CSV access report agree, for every filter and search, across pages
// and firms; cells a spreadsheet would run as formulas are neutralised.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { contacts, portalAccounts } from "../../db/schema";
import { CONTACT_FILTERS, type ContactFilter } from "../../app/lib/contact-filters";
import { CONTACTS_PAGE_SIZE } from "../../app/server/staff/contacts.server";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { csvRecords, htmlText } from "../support/csv";
import { Browser, signInStaff } from "../support/http";
import { enableTotp, portalOwner } from "../support/two-factor";

type ListRow = { id: string; name: string; email: string; account: string; twoFactor: string; lastSignIn: string };

/** The rows of the contacts table as the page shows them, and the "Next page" link if any. */
function readList(html: string): { rows: ListRow[]; next: string | null } {
  const body = /<table id="contacts-table"[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html);
  if (!body) throw new Error(`no contacts table in: ${html.slice(0, 500)}`);
  const rows = [...body[1].matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map(([, tr]) => {
    // The selection checkbox's cell is not data.
    const cells = [...tr.matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].filter(([, attrs]) => !attrs.includes("check-cell")).map(([, , td]) => td);
    const id = /href="\/app\/contacts\/([^"]+)"/.exec(cells[0])?.[1];
    if (!id || cells.length !== 5) throw new Error(`unexpected row: ${tr}`);
    const [name, email, status, twoFactor, lastSignIn] = cells.map(htmlText);
    // The portal status column says "Has account", "Invited <date>" or "No account".
    return { id, name, email, account: status === "Has account" ? "Yes" : "No", twoFactor, lastSignIn };
  });
  const next = /<a[^>]*href="([^"]*)"[^>]*>Next page<\/a>/.exec(html);
  return { rows, next: next ? htmlText(next[1]) : null };
}

/** Every row the list shows for a query, following "Next page" like a person would. */
async function allListRows(staff: Browser, search: string): Promise<{ rows: ListRow[]; pages: number }> {
  const rows: ListRow[] = [];
  let url: string | null = `/app/contacts${search}`;
  let pages = 0;
  while (url) {
    const response = await staff.fetch(url);
    const html = await response.text();
    expect(response.status, html.slice(0, 500)).toBe(200);
    const page = readList(html);
    rows.push(...page.rows);
    pages++;
    if (pages > 100) throw new Error("pagination does not end");
    url = page.next ? new URL(page.next, `http://portal.test${url}`).pathname + new URL(page.next, `http://portal.test${url}`).search : null;
  }
  return { rows, pages };
}

async function exportCsv(staff: Browser, search: string) {
  const response = await staff.fetch(`/app/contacts/export.csv${search}`);
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(200);
  return { response, records: csvRecords(text) };
}

/** The CSV's columns in the list's words, so one row can be compared with the other. */
function asShown(record: Record<string, string>) {
  return {
    email: record.email,
    account: record.portal_account === "yes" ? "Yes" : "No",
    twoFactor: record.two_factor === "on" ? "On" : record.two_factor === "off" ? "Off" : "—",
    lastSignIn: record.last_sign_in ? record.last_sign_in.slice(0, 10) : "—",
  };
}

async function accessFirm() {
  const firm = await createFirm();
  const tag = uid("q");
  const person = async (name: string, options: { account?: boolean; twoFactor?: boolean; signedIn?: number } = {}) => {
    const contact = await createContact(firm, { name: `${name} ${tag}` });
    if (options.account) {
      const account = await createPortalAccount(firm, contact);
      if (options.twoFactor) await enableTotp(portalOwner(account));
      if (options.signedIn) await db.update(portalAccounts).set({ lastSignInAt: options.signedIn }).where(eq(portalAccounts.id, account.id));
    }
    return contact;
  };
  const ada = await person("Ada Account", { account: true, signedIn: Date.UTC(2026, 5, 1, 9) });
  const tom = await person("Tom Twofactor", { account: true, twoFactor: true, signedIn: Date.UTC(2026, 6, 2, 23, 59) });
  const nora = await person("Nora Noaccount");
  const otto = await person("Otto Offline", { account: true });
  // A deactivated login (deleted contact restored later) counts as no account, in both views.
  const dora = await person("Dora Deactivated", { account: true });
  await db.update(portalAccounts).set({ deactivatedAt: Date.now() }).where(eq(portalAccounts.contactId, dora.id));
  // Deleted contacts are in neither view.
  const gone = await person("Gone Deleted", { account: true });
  await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, gone.id));

  // Another firm with the same kinds of people and the same search word: never in this firm's views.
  const other = await createFirm();
  for (const [name, account, twoFactor] of [["Ada Account", true, false], ["Tom Twofactor", true, true], ["Nora Noaccount", false, false]] as const) {
    const contact = await createContact(other, { name: `${name} ${tag}`, email: `${uid("other_")}@other.test` });
    if (account) {
      const acc = await createPortalAccount(other, contact);
      if (twoFactor) await enableTotp(portalOwner(acc));
    }
  }
  const admin = await createStaff(firm, { role: "admin" });
  const staff = await signInStaff(admin.email, PASSWORD);
  const names = (...people: Array<{ name: string }>) => people.map((p) => p.name).sort();
  const expected: Record<ContactFilter, string[]> = {
    all: names(ada, tom, nora, otto, dora),
    has_account: names(ada, tom, otto),
    no_account: names(nora, dora),
    two_factor_on: names(tom),
    two_factor_off: names(ada, otto),
  };
  return { firm, other, tag, staff, expected, people: { ada, tom, nora, otto, dora, gone } };
}

describe("access report: the CSV export matches the contacts list", () => {
  it("for every filter: same contacts, same account, 2FA and last sign-in columns, and only this firm's", async () => {
    const { staff, expected } = await accessFirm();
    for (const filter of CONTACT_FILTERS) {
      const search = `?${new URLSearchParams({ filter })}`;
      const list = await allListRows(staff, search);
      const { records } = await exportCsv(staff, search);
      expect(list.rows.map((r) => r.name).sort(), `list, filter=${filter}`).toEqual(expected[filter]);
      expect(records.map((r) => r.name).sort(), `csv, filter=${filter}`).toEqual(expected[filter]);
      // Row by row, in the same order, with the same columns.
      expect(records.map((r) => ({ name: r.name, ...asShown(r) })), `filter=${filter}`).toEqual(
        list.rows.map((r) => ({ name: r.name, email: r.email, account: r.account, twoFactor: r.twoFactor, lastSignIn: r.lastSignIn })),
      );
    }
  });

  it("the list shows what the report says for each kind of contact", async () => {
    const { staff, people } = await accessFirm();
    const { records } = await exportCsv(staff, "");
    const byEmail = new Map(records.map((r) => [r.email, r]));
    expect(byEmail.get(people.ada.email)).toMatchObject({ portal_account: "yes", login_email: people.ada.email, two_factor: "off", two_factor_since: "", last_sign_in: "2026-06-01T09:00:00.000Z" });
    expect(byEmail.get(people.tom.email)).toMatchObject({ portal_account: "yes", two_factor: "on", last_sign_in: "2026-07-02T23:59:00.000Z" });
    expect(byEmail.get(people.tom.email)?.two_factor_since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(byEmail.get(people.nora.email)).toMatchObject({ portal_account: "no", login_email: "", two_factor: "", last_sign_in: "" });
    expect(byEmail.get(people.dora.email)).toMatchObject({ portal_account: "no", two_factor: "" });
    expect(byEmail.has(people.gone.email)).toBe(false);
  });

  it("with a search, alone and with a filter", async () => {
    const { staff, tag, people } = await accessFirm();
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ q: "Account" }, [people.ada.name, people.nora.name].sort()], // "Noaccount" matches too: case-insensitive
      [{ q: "Account", filter: "no_account" }, [people.nora.name]],
      [{ q: people.tom.email }, [people.tom.name]],
      [{ q: tag, filter: "two_factor_off" }, [people.ada.name, people.otto.name].sort()],
      [{ q: "nobody-matches-this" }, []],
      // Emails often hold "_"; what is typed is searched for literally, wildcards included.
      [{ q: people.ada.email.replace("@client.test", "") }, [people.ada.name]],
      [{ q: "%" }, []],
      [{ q: "_" }, Object.values(people).filter((p) => p !== people.gone).map((p) => p.name).sort()], // every factory email is contact_…
      [{ q: "Ada_Account" }, []],
    ];
    for (const [params, names] of cases) {
      const search = `?${new URLSearchParams(params)}`;
      const list = await allListRows(staff, search);
      const { records } = await exportCsv(staff, search);
      expect(list.rows.map((r) => r.name).sort(), `list ${search}`).toEqual(names);
      expect(records.map((r) => r.name).sort(), `csv ${search}`).toEqual(names);
    }
  });

  it("the page's Export CSV link carries the search and the filter", async () => {
    const { staff } = await accessFirm();
    const html = await (await staff.fetch("/app/contacts?q=Tom&filter=two_factor_on")).text();
    const href = /href="(\/app\/contacts\/export\.csv[^"]*)"/.exec(html)?.[1];
    expect(href && htmlText(href)).toBe("/app/contacts/export.csv?q=Tom&filter=two_factor_on");
  });

  it("another firm's contacts never appear, whatever the query", async () => {
    const { staff, other } = await accessFirm();
    const otherEmails = (await db.select({ email: contacts.email }).from(contacts).where(eq(contacts.firmId, other.id))).map((c) => c.email);
    expect(otherEmails).toHaveLength(3);
    for (const params of [{}, { filter: "has_account" }, { filter: "two_factor_on" }, { q: "other.test" }, { q: "Ada" }] as Record<string, string>[]) {
      const search = `?${new URLSearchParams(params)}`;
      const list = await allListRows(staff, search);
      const { records } = await exportCsv(staff, search);
      for (const email of otherEmails) {
        expect(list.rows.map((r) => r.email)).not.toContain(email);
        expect(records.map((r) => r.email)).not.toContain(email);
      }
    }
    const onlyOther = await exportCsv(staff, "?q=other.test");
    expect(onlyOther.records).toEqual([]);
  });
});

async function insertContacts(firm: TestFirm, names: string[]) {
  const rows = names.map((name) => ({ id: uid("contact_"), firmId: firm.id, name, email: `${uid("bulk_")}@client.test` }));
  const statements = [];
  for (let i = 0; i < rows.length; i += 20) statements.push(db.insert(contacts).values(rows.slice(i, i + 20)));
  await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
  return rows;
}

describe("access report: pagination", () => {
  it("following Next page visits every contact exactly once, in name order, names shared or not", async () => {
    const firm = await createFirm();
    // Ties on the name (keyset on name then id), punctuation, spaces, accents and a page boundary in the middle of a tie.
    const names = [
      ...Array.from({ length: CONTACTS_PAGE_SIZE + 7 }, () => "Same Name"),
      ...Array.from({ length: 40 }, (_, i) => `Person ${String(i).padStart(3, "0")}`),
      "O'Brien & Sons",
      "Zoë Ångström",
      "a lower-case name",
      "Name, with comma",
      '"Quoted" Name',
    ];
    const inserted = await insertContacts(firm, names);
    const admin = await createStaff(firm, { role: "member" });
    const staff = await signInStaff(admin.email, PASSWORD);

    const { rows, pages } = await allListRows(staff, "");
    expect(pages).toBe(Math.ceil(inserted.length / CONTACTS_PAGE_SIZE));
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(inserted.map((r) => r.id).sort());
    expect(rows.map((r) => r.name).sort()).toEqual([...names].sort());

    // The filter and the search survive the page change.
    const filtered = await allListRows(staff, "?q=Same&filter=no_account");
    expect(filtered.pages).toBe(2);
    expect(filtered.rows).toHaveLength(CONTACTS_PAGE_SIZE + 7);
    expect(new Set(filtered.rows.map((r) => r.id)).size).toBe(CONTACTS_PAGE_SIZE + 7);

    // And the export holds the same contacts, once each.
    const { records } = await exportCsv(staff, "");
    expect(records.map((r) => r.email).sort()).toEqual(inserted.map((r) => r.email).sort());
  });

  it("the export is complete past its internal page of 1,000 rows", async () => {
    const firm = await createFirm();
    const inserted = await insertContacts(firm, Array.from({ length: 1_005 }, (_, i) => `Bulk ${i % 3} contact`));
    const admin = await createStaff(firm);
    const staff = await signInStaff(admin.email, PASSWORD);
    const { records } = await exportCsv(staff, "");
    expect(records).toHaveLength(1_005);
    expect(new Set(records.map((r) => r.email)).size).toBe(1_005);
    expect(records.map((r) => r.email).sort()).toEqual(inserted.map((r) => r.email).sort());
  });
});

describe("access report: the file itself", () => {
  it("neutralises cells starting with = + - @ (and tab or CR), and keeps commas, quotes and newlines in one cell", async () => {
    const firm = await createFirm();
    const hostile = [
      { name: "=HYPERLINK(\"http://evil.example\",\"x\")", email: `=cmd|${uid()}@client.test` },
      { name: "+1+2", email: `+${uid()}@client.test` },
      { name: "-2+3", email: `-${uid()}@client.test` },
      { name: "@SUM(A1:A2)", email: `@${uid()}@client.test` },
      { name: "\tTabbed", email: `${uid()}@client.test` },
      { name: "Line\r\nBreak, \"quoted\"", email: `${uid()}@client.test` },
    ];
    for (const person of hostile) {
      const contact = await createContact(firm, person);
      await createPortalAccount(firm, contact);
    }
    const admin = await createStaff(firm);
    const staff = await signInStaff(admin.email, PASSWORD);
    const { response, records } = await exportCsv(staff, "");
    const text = await (await staff.fetch("/app/contacts/export.csv")).text();
    expect(records).toHaveLength(hostile.length);
    for (const record of records) {
      for (const [column, value] of Object.entries(record)) {
        expect(value, `${column}: ${value}`).not.toMatch(/^[=+\-@\t\r]/);
      }
    }
    // Prefixed, not altered otherwise: the quote is the only change.
    const names = records.map((r) => r.name).sort();
    expect(names).toEqual(hostile.map((p) => (/^[=+\-@\t\r]/.test(p.name) ? `'${p.name}` : p.name)).sort());
    expect(records.map((r) => r.login_email).sort()).toEqual(hostile.map((p) => (/^[=+\-@]/.test(p.email) ? `'${p.email}` : p.email)).sort());
    // Each physical line that starts a record begins with a safe character, too.
    for (const line of text.split("\r\n")) expect(line).not.toMatch(/^[=+\-@]/);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
  });

  it("a member can export; the response is a CSV attachment that is not cached", async () => {
    const firm = await createFirm();
    await createContact(firm, { name: "Member Visible" });
    const member = await createStaff(firm, { role: "member" });
    const staff = await signInStaff(member.email, PASSWORD);
    const { response, records } = await exportCsv(staff, "");
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="portal-access-${firm.slug}.csv"`);
    expect(response.headers.get("cache-control")).toContain("no-store");
    expect(records.map((r) => r.name)).toEqual(["Member Visible"]);
    expect(Object.keys(records[0])).toEqual(["name", "email", "portal_account", "login_email", "two_factor", "two_factor_since", "last_sign_in"]);
  });

  it("is not served without a staff sign-in, nor to a client session", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { name: "Secret Client" });
    const account = await createPortalAccount(firm, contact);
    for (const browser of [new Browser(), await clientBrowser(account)]) {
      const response = await browser.fetch("/app/contacts/export.csv");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login/);
      expect(await response.text()).not.toContain("Secret Client");
    }
  });

  it("malformed query parameters give the unfiltered report, never a 500", async () => {
    const { staff, expected } = await accessFirm();
    for (const search of ["?filter=bogus", "?filter=", `?q=${"x".repeat(500)}`, "?q=%ZZ", "?filter=all&filter=no_account", "?after=%00%00"]) {
      const response = await staff.fetch(`/app/contacts/export.csv${search}`);
      expect(response.status, search).toBeLessThan(500);
      const list = await staff.fetch(`/app/contacts${search}`);
      expect(list.status, search).toBeLessThan(500);
    }
    const { records } = await exportCsv(staff, "?filter=bogus");
    expect(records.map((r) => r.name).sort()).toEqual(expected.all);
  });
});
