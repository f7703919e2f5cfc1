// Issue 13: staff add and edit contacts; one live contact per address per firm; a contact's email and
// their login email (docs/decisions/012); the list's sorts keep keyset pagination exact.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, accountTokens, auditEvents, contacts, portalAccounts } from "../../db/schema";
import { sha256Hex } from "../../app/server/crypto.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { htmlText } from "../support/csv";
import { Browser, signInStaff } from "../support/http";
import { claim, issueLink } from "../support/portal";

async function staffOf(firm: TestFirm, role: "admin" | "member" = "member") {
  const staff = await createStaff(firm, { role });
  return { staff, browser: await signInStaff(staff.email, PASSWORD) };
}

async function firmContacts(firm: TestFirm) {
  return db.select().from(contacts).where(eq(contacts.firmId, firm.id));
}

const valid = { name: "Ada Lovelace", email: "ada@example.test", phone: "+44 20 7946 0958", company: "Analytical Engines Ltd", notes: "Prefers email." };

describe("adding a contact", () => {
  it("a staff member adds a contact: saved with every field, email lower-cased, audited, shown on its page", async () => {
    const firm = await createFirm();
    const { staff, browser } = await staffOf(firm, "member");
    const response = await browser.post("/app/contacts/new", { ...valid, email: "  Ada@Example.TEST " });
    expect(response.status, await response.clone().text()).toBe(303);
    const location = response.headers.get("location")!;
    const [contact] = await firmContacts(firm);
    expect(location).toBe(`/app/contacts/${contact.id}?created=1`);
    expect(contact).toMatchObject({ name: "Ada Lovelace", email: "ada@example.test", phone: valid.phone, company: valid.company, notes: valid.notes, deletedAt: null });
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "contact.created")));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: staff.id, contactId: contact.id });
    const page = await (await browser.fetch(location)).text();
    expect(page).toContain("The contact was added.");
    expect(page).toContain("Analytical Engines Ltd");
    expect(page).toContain("Prefers email.");
  });

  it("company, phone and notes are optional", async () => {
    const firm = await createFirm();
    const { browser } = await staffOf(firm);
    const response = await browser.post("/app/contacts/new", { name: "Min Imal", email: "min@example.test" });
    expect(response.status).toBe(303);
    const [contact] = await firmContacts(firm);
    expect(contact).toMatchObject({ phone: null, company: null, notes: null });
  });

  it("bad input gets 422 with a message beside the field, and writes nothing", async () => {
    const firm = await createFirm();
    const { browser } = await staffOf(firm);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ ...valid, name: "" }, "name", "Enter a name."],
      [{ ...valid, name: "   " }, "name", "Enter a name."],
      [{ ...valid, name: "x".repeat(201) }, "name", "Keep the name under 200 characters."],
      [{ ...valid, email: "" }, "email", "Enter an email address."],
      [{ ...valid, email: "not-an-email" }, "email", "Enter a valid email address."],
      [{ ...valid, email: `${"a".repeat(250)}@x.test` }, "email", "That email address is too long."],
      [{ ...valid, phone: "call me maybe" }, "phone", "Enter a phone number with digits"],
      [{ ...valid, phone: "1".repeat(41) }, "phone", "Keep the phone number under 40 characters."],
      [{ ...valid, company: "c".repeat(201) }, "company", "Keep the company or entity name under 200 characters."],
      [{ ...valid, notes: "n".repeat(5001) }, "notes", "Keep the notes under 5000 characters."],
    ];
    for (const [form, field, message] of cases) {
      const response = await browser.post("/app/contacts/new", form);
      const html = await response.text();
      expect(response.status, `${field}: ${html.slice(0, 300)}`).toBe(422);
      expect(html, field).toContain(message);
      expect(html, field).toContain(`id="field-${field}-error"`);
    }
    const { email: _email, ...withoutEmail } = valid;
    expect((await browser.post("/app/contacts/new", withoutEmail)).status).toBe(422);
    expect(await firmContacts(firm)).toHaveLength(0);
  });

  it("an address already used by a live contact of the firm is refused, whatever its case; a deleted contact's or another firm's is not", async () => {
    const firm = await createFirm();
    const other = await createFirm();
    await createContact(firm, { email: "Taken@Example.test" });
    const gone = await createContact(firm, { email: "gone@example.test" });
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, gone.id));
    await createContact(other, { email: "elsewhere@example.test" });
    const { browser } = await staffOf(firm);
    for (const email of ["taken@example.test", "TAKEN@EXAMPLE.TEST", " Taken@example.Test "]) {
      const response = await browser.post("/app/contacts/new", { ...valid, email });
      expect(response.status, email).toBe(409);
      expect(await response.text()).toContain("Another contact of your firm already uses this email.");
    }
    expect((await browser.post("/app/contacts/new", { ...valid, email: "gone@example.test" })).status).toBe(303);
    expect((await browser.post("/app/contacts/new", { ...valid, email: "elsewhere@example.test" })).status).toBe(303);
    expect(await firmContacts(firm)).toHaveLength(4);
  });

  it("the database refuses a second live contact with the same address, even written directly", async () => {
    const firm = await createFirm();
    await createContact(firm, { email: "direct@example.test" });
    const error = await createContact(firm, { email: "DIRECT@example.test" }).then(
      () => null,
      (e: Error) => e,
    );
    expect(String(error?.cause ?? error)).toMatch(/UNIQUE constraint failed/);
    const [gone] = await db.select().from(contacts).where(eq(contacts.email, "direct@example.test"));
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, gone.id));
    // Once deleted, the address is free again.
    await createContact(firm, { email: "DIRECT@example.test" });
  });

  it("parallel creates of one address give exactly one contact and no 500", async () => {
    const firm = await createFirm();
    const { browser } = await staffOf(firm);
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => browser.post("/app/contacts/new", { ...valid, name: `Racer ${i}`, email: i % 2 ? "race@example.test" : "RACE@example.test" })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 303)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
    expect(await firmContacts(firm)).toHaveLength(1);
    expect(await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "contact.created")))).toHaveLength(1);
  });
});

describe("editing a contact", () => {
  it("a member edits name, phone, company and notes; the audit event names the fields, not the notes", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { name: "Old Name", email: "edit@example.test" });
    const { browser } = await staffOf(firm, "member");
    const form = await browser.fetch(`/app/contacts/${contact.id}/edit`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('value="edit@example.test"');
    const response = await browser.post(`/app/contacts/${contact.id}/edit`, { name: "New Name", email: "edit@example.test", phone: "123 456", company: "Co", notes: "secret note" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`/app/contacts/${contact.id}?saved=1`);
    const [after] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(after).toMatchObject({ name: "New Name", email: "edit@example.test", phone: "123 456", company: "Co", notes: "secret note" });
    const [event] = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "contact.updated")));
    expect(JSON.parse(event.detail!)).toEqual({ fields: ["name", "phone", "company", "notes"] });
    expect(event.detail).not.toContain("secret note");
  });

  it("a new address for a contact without a login ends everything mailed to the old one", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { email: "old@example.test" });
    // A link claimed on the client's browser, an unclaimed one, and an unused verification token.
    const claimedToken = await issueLink(firm, contact, "invite");
    const { browser: client } = await claim(claimedToken);
    expect((await client.fetch(`/portal/${firm.slug}/requests`)).status).toBe(200);
    const unclaimedToken = await issueLink(firm, contact, "staff");
    const verification = crypto.randomUUID();
    await db.insert(accountTokens).values({
      tokenHash: await sha256Hex(verification),
      kind: "email_verification",
      firmId: firm.id,
      contactId: contact.id,
      email: contact.email,
      expiresAt: Date.now() + 3_600_000,
      createdAt: Date.now(),
    });
    const { browser } = await staffOf(firm, "member");
    const response = await browser.post(`/app/contacts/${contact.id}/edit`, { name: contact.name, email: "New@Example.test" });
    expect(response.status).toBe(303);
    const [after] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(after.email).toBe("new@example.test");
    // The link session ends; neither link opens anything, on this browser or another.
    expect((await client.fetch(`/portal/${firm.slug}/requests`)).status).toBe(302);
    for (const token of [claimedToken, unclaimedToken]) {
      const again = await claim(token, new Browser());
      expect(again.response.status).not.toBe(302);
      expect((await again.browser.fetch(`/portal/${firm.slug}/requests`)).status).toBe(302);
    }
    const reopened = await claim(claimedToken, client);
    expect((await reopened.browser.fetch(`/portal/${firm.slug}/requests`)).status).toBe(302);
    const [tokenRow] = await db.select().from(accountTokens).where(eq(accountTokens.contactId, contact.id));
    expect(tokenRow.usedAt).not.toBeNull();
    const links = await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id));
    expect(links.every((l) => l.revokedAt !== null)).toBe(true);
    const [event] = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "contact.updated")));
    expect(JSON.parse(event.detail!)).toEqual({ fields: ["email"], from: "old@example.test", to: "new@example.test" });
  });

  it("a new address already used by another live contact is refused; the contact and its links are unchanged", async () => {
    const firm = await createFirm();
    await createContact(firm, { email: "Used@example.test" });
    const contact = await createContact(firm, { email: "mine@example.test" });
    const token = await issueLink(firm, contact);
    const { browser } = await staffOf(firm);
    const response = await browser.post(`/app/contacts/${contact.id}/edit`, { name: contact.name, email: "used@EXAMPLE.test" });
    expect(response.status).toBe(409);
    expect(await response.text()).toContain("Another contact of your firm already uses this email.");
    const [after] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(after.email).toBe("mine@example.test");
    expect((await claim(token)).response.status).toBe(302);
  });

  it("the email of a contact with a login is changed only through Edit login details: the form refuses, for members and admins", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { email: "login@example.test" });
    await createPortalAccount(firm, contact);
    for (const role of ["member", "admin"] as const) {
      const { browser } = await staffOf(firm, role);
      const page = await (await browser.fetch(`/app/contacts/${contact.id}/edit`)).text();
      expect(page).toContain("portal login email");
      expect(page).toMatch(/name="email"[^>]*readOnly|readOnly[^>]*name="email"|name="email"[^>]*readonly|readonly[^>]*name="email"/i);
      const response = await browser.post(`/app/contacts/${contact.id}/edit`, { name: "Renamed", email: "elsewhere@example.test" });
      expect(response.status, role).toBe(409);
      expect(await response.text()).toContain("Edit login details");
      const [after] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
      expect(after).toMatchObject({ email: "login@example.test", name: contact.name });
      const [account] = await db.select().from(portalAccounts).where(eq(portalAccounts.contactId, contact.id));
      expect(account.email).toBe("login@example.test");
    }
    // Other fields of a contact with a login can still be edited; a change of case only is not a new address.
    const { browser } = await staffOf(firm, "member");
    expect((await browser.post(`/app/contacts/${contact.id}/edit`, { name: "Renamed", email: "LOGIN@example.test" })).status).toBe(303);
    const [after] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(after).toMatchObject({ email: "login@example.test", name: "Renamed" });
  });

  it("Edit login details refuses an address another contact uses (409, not a 500), and changes nothing", async () => {
    const firm = await createFirm();
    await createContact(firm, { email: "someone@example.test" });
    const contact = await createContact(firm, { email: "client@example.test" });
    await createPortalAccount(firm, contact);
    const { browser } = await staffOf(firm, "admin");
    const response = await browser.post(`/app/contacts/${contact.id}/login-details`, { intent: "change-email", currentEmail: "client@example.test", email: "Someone@example.test", confirm: "yes" });
    expect(response.status).toBe(409);
    expect(await response.text()).toContain("Another client of your firm already uses that email.");
    const [account] = await db.select().from(portalAccounts).where(eq(portalAccounts.contactId, contact.id));
    expect(account.email).toBe("client@example.test");
  });

  it("another firm's contact, a deleted contact and a made-up id answer 404 and change nothing", async () => {
    const firm = await createFirm();
    const other = await createFirm();
    const foreign = await createContact(other, { name: "Foreign" });
    const deleted = await createContact(firm, { name: "Deleted" });
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, deleted.id));
    const { browser } = await staffOf(firm, "admin");
    for (const id of [foreign.id, deleted.id, "nope", "../x", "a".repeat(65)]) {
      const path = `/app/contacts/${encodeURIComponent(id)}/edit`;
      expect((await browser.fetch(path)).status, id).toBe(404);
      expect((await browser.post(path, { ...valid, email: `${uid()}@example.test` })).status, id).toBe(404);
    }
    const [f] = await db.select().from(contacts).where(eq(contacts.id, foreign.id));
    expect(f.name).toBe("Foreign");
    const [d] = await db.select().from(contacts).where(eq(contacts.id, deleted.id));
    expect(d.name).toBe("Deleted");
  });

  it("restoring a deleted contact whose address was taken meanwhile is refused with a message, not a 500", async () => {
    const firm = await createFirm();
    const old = await createContact(firm, { email: "comeback@example.test" });
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, old.id));
    await createContact(firm, { email: "Comeback@example.test" });
    const { browser } = await staffOf(firm, "admin");
    const response = await browser.post(`/app/contacts/${old.id}`, { intent: "restore" });
    expect(response.status).toBe(409);
    expect(await response.text()).toContain("Another contact of your firm now uses this email.");
    const [after] = await db.select().from(contacts).where(eq(contacts.id, old.id));
    expect(after.deletedAt).not.toBeNull();
  });

  it("the list links to Add contact and Import contacts, and the details page to Edit contact", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const { browser } = await staffOf(firm, "member");
    const list = await (await browser.fetch("/app/contacts")).text();
    expect(list).toContain('href="/app/contacts/new"');
    expect(list).toContain('href="/app/contacts/import"');
    const details = await (await browser.fetch(`/app/contacts/${contact.id}`)).text();
    expect(details).toContain(`href="/app/contacts/${contact.id}/edit"`);
  });
});

// ---------------------------------------------------------------------------------------------
// Sorts and pagination

type Shown = { id: string; name: string; status: string; lastSignIn: string };

function readRows(html: string): { rows: Shown[]; next: string | null } {
  const body = /<table id="contacts-table"[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html);
  if (!body) throw new Error("no contacts table");
  const rows = [...body[1].matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map(([, tr]) => {
    const cells = [...tr.matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].filter(([, attrs]) => !attrs.includes("check-cell")).map(([, , td]) => td);
    const id = /href="\/app\/contacts\/([^"]+)"/.exec(cells[0])![1];
    return { id, name: htmlText(cells[0]), status: htmlText(cells[2]), lastSignIn: htmlText(cells[4]) };
  });
  const next = /<a[^>]*href="([^"]*)"[^>]*>Next page<\/a>/.exec(html);
  return { rows, next: next ? htmlText(next[1]) : null };
}

async function walk(browser: Browser, first: string): Promise<{ ids: string[]; pages: number; rows: Shown[] }> {
  const rows: Shown[] = [];
  let url: string | null = first;
  let pages = 0;
  while (url) {
    const response = await browser.fetch(url);
    const html = await response.text();
    expect(response.status, html.slice(0, 300)).toBe(200);
    const page = readRows(html);
    rows.push(...page.rows);
    if (++pages > 20) throw new Error("pagination does not end");
    url = page.next ? `/app/contacts${page.next.slice(page.next.indexOf("?"))}` : null;
  }
  return { ids: rows.map((r) => r.id), pages, rows };
}

describe("contacts list: sort by name, last sign-in and portal status, across pages", () => {
  it("every sort and direction visits every contact exactly once, in the right order, ties included", async () => {
    const firm = await createFirm();
    const now = Date.now();
    // 130 contacts (three pages of 50), shared names, shared sign-in times, invited and not.
    const people: Array<{ id: string; name: string; lastSignIn: number; rank: number }> = [];
    const rows = Array.from({ length: 130 }, (_, i) => ({ id: uid(`c${String(i).padStart(3, "0")}_`), firmId: firm.id, name: `Person ${i % 17}`, email: `${uid()}@sort.test` }));
    for (let i = 0; i < rows.length; i += 20) await db.insert(contacts).values(rows.slice(i, i + 20));
    for (const [i, row] of rows.entries()) {
      let rank = 0;
      let lastSignIn = 0;
      if (i % 3 === 0) {
        rank = 2;
        lastSignIn = i % 2 ? now - (i % 4) * 86_400_000 : 0;
        await db.insert(portalAccounts).values({ id: uid("acct_"), firmId: firm.id, contactId: row.id, email: row.email, lastSignInAt: lastSignIn || null });
      } else if (i % 3 === 1 && i % 2 === 0) {
        rank = 1;
        await db.insert(accessLinks).values({
          id: uid("link_"),
          tokenHash: uid("hash_"),
          firmId: firm.id,
          contactId: row.id,
          purpose: "invite",
          createdAt: now - 1000,
          expiresAt: now + 1000,
        });
      }
      people.push({ id: row.id, name: row.name, lastSignIn, rank });
    }
    const { browser } = await staffOf(firm);
    const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
    const expected = (sort: string, dir: "asc" | "desc") =>
      [...people]
        .sort((a, b) => {
          const sign = dir === "asc" ? 1 : -1;
          if (sort === "name") return sign * cmp(a.name, b.name) || cmp(a.id, b.id);
          const key = sort === "last_sign_in" ? cmp(a.lastSignIn, b.lastSignIn) : cmp(a.rank, b.rank);
          return sign * key || cmp(a.name, b.name) || cmp(a.id, b.id);
        })
        .map((p) => p.id);
    for (const sort of ["name", "last_sign_in", "portal_status"]) {
      for (const dir of ["asc", "desc"] as const) {
        const { ids, pages, rows: shown } = await walk(browser, `/app/contacts?sort=${sort}&dir=${dir}`);
        expect(pages, `${sort} ${dir}`).toBe(3);
        expect(new Set(ids).size, `${sort} ${dir}`).toBe(130);
        expect(ids, `${sort} ${dir}`).toEqual(expected(sort, dir));
        if (sort === "portal_status") {
          const labels = new Set(shown.map((r) => r.status.replace(/\d{4}-\d{2}-\d{2}/, "<date>")));
          expect(labels).toEqual(new Set(["Has account", "Invited <date>", "No account"]));
        }
      }
    }
    // Sorted with a filter and a search too.
    const filtered = await walk(browser, "/app/contacts?sort=last_sign_in&filter=has_account&q=Person%201");
    const expectedFiltered = expected("last_sign_in", "desc").filter((id) => {
      const p = people.find((x) => x.id === id)!;
      return p.rank === 2 && p.name.startsWith("Person 1");
    });
    expect(filtered.ids).toEqual(expectedFiltered);
  });

  it("search matches its text literally: % and _ match only themselves, on the page (a statement) and in the export", async () => {
    const firm = await createFirm();
    await createContact(firm, { name: "Ann 100% Ltd", email: "ann_lee@example.test" });
    await createContact(firm, { name: "Bob 1000 Ltd", email: "annxlee@example.test" });
    const { browser } = await staffOf(firm);
    for (const [q, shown, hidden] of [
      ["100%", "Ann 100% Ltd", "Bob 1000 Ltd"],
      ["ann_lee", "Ann 100% Ltd", "Bob 1000 Ltd"],
      ["1000", "Bob 1000 Ltd", "Ann 100% Ltd"],
    ]) {
      for (const sort of ["name", "last_sign_in"]) {
        const html = await (await browser.fetch(`/app/contacts?sort=${sort}&q=${encodeURIComponent(q)}`)).text();
        expect(html, `${q} ${sort}`).toContain(shown);
        expect(html, `${q} ${sort}`).not.toContain(hidden);
      }
      const csv = await (await browser.fetch(`/app/contacts/export.csv?q=${encodeURIComponent(q)}`)).text();
      expect(csv, q).toContain(shown);
      expect(csv, q).not.toContain(hidden);
    }
  });

  it("a malformed cursor or sort starts at the first page instead of failing", async () => {
    const firm = await createFirm();
    await createContact(firm, { name: "Only One" });
    const { browser } = await staffOf(firm);
    for (const query of ["?sort=last_sign_in&after=abc", "?sort=portal_status&after=1%00x", "?sort=bogus&dir=sideways", "?sort=last_sign_in&after=99999999999999999999%00a%00b"]) {
      const response = await browser.fetch(`/app/contacts${query}`);
      expect(response.status, query).toBe(200);
      expect(await response.text()).toContain("Only One");
    }
  });
});
