// CSV import of contacts through the real routes (ADR 013): 10,000 rows in chunks, idempotent
// re-import (skip and update), interruption and resume, tenant isolation, roles, and bad input that
// writes nothing to D1 or R2.
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, contactImportProblems, contactImports, contacts } from "../../db/schema";
import { importNextChunk } from "../../app/server/staff/contact-import-run.server";
import { runScheduledJobs } from "../../app/server/scheduled.server";
import { createContact, createFirm, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { csvRecords } from "../support/csv";
import { Browser, signInStaff } from "../support/http";

const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

async function staffBrowser(firm: TestFirm, role: "admin" | "member" = "admin"): Promise<Browser> {
  return signInStaff((await createStaff(firm, { role })).email, PASSWORD);
}

/** A multipart upload as a browser sends it, with its Content-Length. */
async function upload(browser: Browser, content: Uint8Array<ArrayBuffer> | string, name = "contacts.csv", headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.set("file", new File([typeof content === "string" ? utf8(content) : content], name, { type: "text/csv" }));
  const encoded = new Response(form);
  const body = await encoded.arrayBuffer();
  return browser.fetch("/app/contacts/import", {
    method: "POST",
    body,
    headers: { "content-type": encoded.headers.get("content-type") ?? "", "content-length": String(body.byteLength), ...headers },
  });
}

async function uploadOk(browser: Browser, content: Uint8Array<ArrayBuffer> | string, name?: string): Promise<string> {
  const response = await upload(browser, content, name);
  expect(response.status, await response.clone().text()).toBe(302);
  const id = /^\/app\/contacts\/import\/([A-Za-z0-9_-]+)$/.exec(response.headers.get("location") ?? "")?.[1];
  expect(id).toBeTruthy();
  return id as string;
}

type ChunkAnswer = { ok: boolean; status: string; nextRow: number; totalRows: number; counts: Record<string, number> };

async function chunk(browser: Browser, importId: string): Promise<ChunkAnswer> {
  const response = await browser.post(`/app/contacts/import/${importId}/chunk`, { intent: "chunk" });
  expect(response.status).toBe(200);
  return (await response.json()) as ChunkAnswer;
}

/** Starts with the page's form (which imports the first chunk), then asks for chunks like the page's script. */
async function runImport(browser: Browser, importId: string, form: Record<string, string>): Promise<{ record: typeof contactImports.$inferSelect; requests: number }> {
  const started = await browser.post(`/app/contacts/import/${importId}`, { intent: "start", ...form });
  expect(started.status, await started.clone().text()).toBe(302);
  let requests = 1;
  for (;;) {
    const record = await importRecord(importId);
    if (record.status !== "running") return { record, requests };
    await chunk(browser, importId);
    requests++;
    if (requests > 200) throw new Error("import does not finish");
  }
}

async function importRecord(importId: string) {
  const [record] = await db.select().from(contactImports).where(eq(contactImports.id, importId));
  return record;
}

async function liveContacts(firm: TestFirm) {
  return db.select().from(contacts).where(and(eq(contacts.firmId, firm.id), sql`${contacts.deletedAt} IS NULL`));
}

async function duplicateEmails(firm: TestFirm): Promise<number> {
  const rows = await db.all<{ n: number }>(
    sql`SELECT count(*) AS n FROM (SELECT lower(email) FROM contacts WHERE firm_id = ${firm.id} AND deleted_at IS NULL GROUP BY lower(email) HAVING count(*) > 1)`,
  );
  return rows[0].n;
}

const MAPPING = { "column-0": "name", "column-1": "email", "column-2": "phone", "column-3": "company", "column-4": "notes" };

/** 10,000 good rows plus rows with every kind of problem, in an Excel-style file (BOM, CRLF). */
function bigFile(options: { phoneSuffix?: string } = {}): { text: string; special: number } {
  const lines = ["Name,Email,Phone,Company,Notes"];
  for (let i = 0; i < 10_000; i++) {
    lines.push(`"Person ${i}, Jr",person${i}@import.test,+1 555 ${i}${options.phoneSuffix ?? ""},"Acme ""${i % 7}"" Ltd","line one\nline two"`);
    if (i % 2000 === 1) {
      lines.push(`Bad Email ${i},not-an-email-${i},,,`);
      lines.push(`,missing-name-${i}@import.test,,,`);
      lines.push(`Repeat ${i},PERSON${i}@IMPORT.TEST,,,`);
    }
  }
  return { text: "\ufeff" + lines.join("\r\n") + "\r\n", special: 15 };
}

describe("CSV import: 10,000 rows through the real routes", () => {
  it("imports in chunks with exact counts, then re-imports without duplicates (skip, then update)", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    // Three rows of the file are already contacts (one with different case); a deleted contact does not count.
    await createContact(firm, { name: "Existing 0", email: "person0@import.test" });
    await createContact(firm, { name: "Existing 5", email: "Person5@Import.Test" });
    await createContact(firm, { name: "Existing 9999", email: "person9999@import.test" });
    const deleted = await createContact(firm, { name: "Deleted 7", email: "person7@import.test" });
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, deleted.id));
    const { text } = bigFile();

    const importId = await uploadOk(staff, text, "clients.csv");
    expect((await env.FILES.list({ prefix: `imports/${firm.id}/` })).objects.map((o) => o.key)).toEqual([`imports/${firm.id}/${importId}.csv`]);
    const page = await (await staff.fetch(`/app/contacts/import/${importId}`)).text();
    expect(page).toContain("10,015 rows in the file");
    expect(page).toContain("9,997 new contacts");
    expect(page).toContain("3 already contacts (will be skipped)");
    expect(page).toContain("5 repeat an email");
    expect(page).toContain("10 cannot be imported");
    expect(page).toContain("Same email as row");
    // Nothing is written before the import starts.
    expect(await liveContacts(firm)).toHaveLength(3);

    const first = await runImport(staff, importId, { ...MAPPING, mode: "skip" });
    expect(first.requests).toBe(Math.ceil(10_015 / 500));
    expect(first.record).toMatchObject({ status: "completed", nextRow: 10_015, totalRows: 10_015, createdCount: 9_997, updatedCount: 0, skippedCount: 8, failedCount: 10 });
    const all = await liveContacts(firm);
    expect(all).toHaveLength(10_000);
    expect(await duplicateEmails(firm)).toBe(0);
    const person42 = all.find((c) => c.email === "person42@import.test");
    expect(person42).toMatchObject({ name: "Person 42, Jr", phone: "+1 555 42", company: 'Acme "0" Ltd', notes: "line one\nline two" });
    // The existing contact was skipped, not changed.
    expect(all.find((c) => c.email === "Person5@Import.Test")?.name).toBe("Existing 5");
    // The file is gone from R2 once the import is complete.
    expect((await env.FILES.list({ prefix: `imports/${firm.id}/` })).objects).toHaveLength(0);

    const audit = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "contact.import_completed")));
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].detail ?? "{}")).toMatchObject({ importId, rows: 10_015, created: 9_997, updated: 0, skipped: 8, failed: 10 });

    const report = await staff.fetch(`/app/contacts/import/${importId}/report.csv`);
    expect(report.headers.get("content-type")).toContain("text/csv");
    const records = csvRecords(await report.text());
    expect(records).toHaveLength(18);
    expect(records.filter((r) => r.reason === "Already a contact").map((r) => r.email)).toEqual(["person0@import.test", "person5@import.test", "person9999@import.test"]);
    expect(records.find((r) => r.email === "not-an-email-1")).toMatchObject({ result: "failed", reason: "Email is not a valid address", name: "Bad Email 1" });
    expect(records.find((r) => r.email === "person1@import.test" && r.result === "skipped")?.reason).toMatch(/^Same email as row \d+$/);

    // Same file again, skipping existing contacts: nothing new.
    const again = await uploadOk(staff, text);
    const second = await runImport(staff, again, { ...MAPPING, mode: "skip" });
    expect(second.record).toMatchObject({ status: "completed", createdCount: 0, updatedCount: 0, skippedCount: 10_005, failedCount: 10 });
    expect(await liveContacts(firm)).toHaveLength(10_000);

    // A changed file, updating existing contacts: every live contact updated once, none created.
    const changed = bigFile({ phoneSuffix: " x1" });
    const third = await runImport(staff, await uploadOk(staff, changed.text), { ...MAPPING, mode: "update" });
    expect(third.record).toMatchObject({ status: "completed", createdCount: 0, updatedCount: 10_000, skippedCount: 5, failedCount: 10 });
    const updated = await liveContacts(firm);
    expect(updated).toHaveLength(10_000);
    expect(await duplicateEmails(firm)).toBe(0);
    expect(updated.find((c) => c.email === "person42@import.test")?.phone).toBe("+1 555 42 x1");
    expect(updated.find((c) => c.email === "Person5@Import.Test")).toMatchObject({ name: "Person 5, Jr", phone: "+1 555 5 x1" });
    // The deleted contact stayed deleted and untouched.
    const [stillDeleted] = await db.select().from(contacts).where(eq(contacts.id, deleted.id));
    expect(stillDeleted).toMatchObject({ name: "Deleted 7", deletedAt: expect.any(Number) });
    expect(await db.$count(auditEvents, and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "contact.import_completed")))).toBe(3);
  }, 180_000);
});

function smallFile(rows: number, prefix = "r"): string {
  return ["name;email", ...Array.from({ length: rows }, (_, i) => `Row ${i};${prefix}${i}@resume.test`)].join("\n") + "\n";
}

describe("CSV import: interruption and resume", () => {
  it("stops after two chunks, resumes from another browser without JavaScript, and replayed or concurrent chunks import nothing twice", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm, "member");
    const importId = await uploadOk(staff, smallFile(3_200));
    expect((await staff.post(`/app/contacts/import/${importId}`, { intent: "start", "column-0": "name", "column-1": "email", mode: "skip" })).status).toBe(302);
    await chunk(staff, importId);
    expect(await importRecord(importId)).toMatchObject({ status: "running", nextRow: 1_000, createdCount: 1_000 });

    // A chunk replayed from a stale read (a retry whose first attempt did commit, or a second tab that read
    // the same next_row): the batch's guard finds next_row moved on and the replay writes nothing.
    const stale = await importRecord(importId);
    const actor = { firm: { id: firm.id }, staff: { id: "replay", email: "replay@staff.test" } };
    const meta = { ip: "203.0.113.9", userAgent: "test" };
    await importNextChunk(db, env, actor, stale, meta);
    expect(await importRecord(importId)).toMatchObject({ nextRow: 1_500, createdCount: 1_500 });
    await Promise.all([importNextChunk(db, env, actor, stale, meta), importNextChunk(db, env, actor, stale, meta)]);
    expect(await importRecord(importId)).toMatchObject({ nextRow: 1_500, createdCount: 1_500, skippedCount: 0 });
    expect(await liveContacts(firm)).toHaveLength(1_500);
    expect(await db.$count(contactImportProblems, eq(contactImportProblems.importId, importId))).toBe(0);
    // Two tabs asking at once: if both read the same next_row, one imports the chunk and the other
    // nothing; if they run one after the other, each imports its own chunk. Never a row twice.
    await Promise.all([chunk(staff, importId), chunk(staff, importId)]);
    const afterTabs = await importRecord(importId);
    expect([2_000, 2_500]).toContain(afterTabs.nextRow);
    expect(afterTabs.createdCount).toBe(afterTabs.nextRow);
    expect(await liveContacts(firm)).toHaveLength(afterTabs.nextRow);

    // Interrupted here. Another browser (another staff member, no script) opens the page and continues.
    const other = await staffBrowser(firm, "admin");
    const page = await (await other.fetch(`/app/contacts/import/${importId}`)).text();
    expect(page).toContain(`${afterTabs.nextRow.toLocaleString("en-US")} of 3,200 rows`);
    expect(page).toContain(">Continue</button>");
    let posts = 0;
    while ((await importRecord(importId)).status === "running") {
      const response = await other.post(`/app/contacts/import/${importId}`, { intent: "chunk" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe(`/app/contacts/import/${importId}`);
      posts++;
    }
    expect(posts).toBe(Math.ceil((3_200 - afterTabs.nextRow) / 500));
    expect(await importRecord(importId)).toMatchObject({ status: "completed", nextRow: 3_200, createdCount: 3_200, skippedCount: 0, failedCount: 0 });
    expect(await liveContacts(firm)).toHaveLength(3_200);
    // A late replay after completion changes nothing.
    expect(await chunk(staff, importId)).toMatchObject({ status: "completed", nextRow: 3_200 });
    expect(await liveContacts(firm)).toHaveLength(3_200);
    expect(await db.$count(auditEvents, and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "contact.import_completed")))).toBe(1);
    expect(await (await other.fetch(`/app/contacts/import/${importId}`)).text()).toContain("Import complete");
  });

  it("a stopped import keeps the rows before and imports no more", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const importId = await uploadOk(staff, smallFile(1_200));
    await staff.post(`/app/contacts/import/${importId}`, { intent: "start", "column-0": "name", "column-1": "email", mode: "skip" });
    expect((await staff.post(`/app/contacts/import/${importId}`, { intent: "cancel" })).status).toBe(302);
    expect(await chunk(staff, importId)).toMatchObject({ status: "cancelled", nextRow: 500 });
    expect(await liveContacts(firm)).toHaveLength(500);
    expect((await env.FILES.list({ prefix: `imports/${firm.id}/` })).objects).toHaveLength(0);
  });
});

describe("CSV import: who may import what", () => {
  it("members and admins import; signed-out visitors are sent to sign in and nothing is written", async () => {
    const firm = await createFirm();
    for (const role of ["member", "admin"] as const) {
      const staff = await staffBrowser(firm, role);
      expect((await staff.fetch("/app/contacts/import")).status).toBe(200);
      const id = await uploadOk(staff, `name,email\nA ${role},a-${role}@roles.test\n`);
      expect((await runImport(staff, id, { "column-0": "name", "column-1": "email", mode: "skip" })).record.createdCount).toBe(1);
    }
    const before = await snapshot(firm);
    const anonymous = new Browser();
    for (const response of [
      await upload(anonymous, "name,email\nX,x@roles.test\n"),
      await anonymous.fetch("/app/contacts/import"),
      await anonymous.post(`/app/contacts/import/whatever`, { intent: "chunk" }),
      await anonymous.post(`/app/contacts/import/whatever/chunk`, { intent: "chunk" }),
      await anonymous.fetch(`/app/contacts/import/whatever/report.csv`),
    ]) {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login/);
    }
    expect(await snapshot(firm)).toEqual(before);
  });

  it("one firm's import never touches another firm, and another firm's import id answers 404", async () => {
    const firmA = await createFirm();
    const firmB = await createFirm();
    const staffA = await staffBrowser(firmA);
    const staffB = await staffBrowser(firmB);
    // Both firms have a contact with the same email; A's import must not see or change B's.
    await createContact(firmB, { name: "B's Shared", email: "shared@tenant.test" });
    const idA = await uploadOk(staffA, "name,email\nA Shared,shared@tenant.test\nA Only,only-a@tenant.test\nbad,bad\n");
    const pendingA = await uploadOk(staffA, "name,email\nP,p@tenant.test\n");
    const run = await runImport(staffA, idA, { "column-0": "name", "column-1": "email", mode: "update" });
    expect(run.record).toMatchObject({ createdCount: 2, updatedCount: 0, failedCount: 1 });
    expect((await liveContacts(firmB)).map((c) => c.name)).toEqual(["B's Shared"]);

    const before = { a: await snapshot(firmA), b: await snapshot(firmB) };
    for (const id of [idA, pendingA]) {
      expect((await staffB.fetch(`/app/contacts/import/${id}`)).status).toBe(404);
      expect((await staffB.fetch(`/app/contacts/import/${id}/report.csv`)).status).toBe(404);
      expect((await staffB.post(`/app/contacts/import/${id}/chunk`, { intent: "chunk" })).status).toBe(404);
      for (const intent of ["start", "preview", "chunk", "cancel"]) {
        const response = await staffB.post(`/app/contacts/import/${id}`, { intent, "column-0": "name", "column-1": "email", mode: "update" });
        expect(response.status).toBe(404);
      }
    }
    expect(await (await staffB.fetch("/app/contacts/import")).text()).not.toContain(idA);
    expect({ a: await snapshot(firmA), b: await snapshot(firmB) }).toEqual(before);
    expect((await importRecord(pendingA)).status).toBe("ready");
  });
});

/** Everything an upload could write: the firm's rows in D1 and every import object in R2. */
async function snapshot(firm: TestFirm) {
  const count = async (table: typeof contacts | typeof contactImports | typeof contactImportProblems | typeof auditEvents) =>
    db.$count(table, eq(table.firmId, firm.id));
  return {
    contacts: await db.select().from(contacts).where(eq(contacts.firmId, firm.id)).orderBy(contacts.id),
    imports: await db.select().from(contactImports).where(eq(contactImports.firmId, firm.id)).orderBy(contactImports.id),
    problems: await count(contactImportProblems),
    audit: await count(auditEvents),
    objects: (await env.FILES.list({ prefix: "imports/" })).objects.map((o) => o.key).sort(),
  };
}

describe("CSV import: bad input gets a clear error and writes nothing", () => {
  const cp1252 = new Uint8Array([...utf8("name,email\nM"), 0xfc, ...utf8("ller,m@bad.test\n")]);
  const cases: Array<[string, Uint8Array<ArrayBuffer> | string, number, RegExp]> = [
    ["a binary file", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), 422, /binary data/],
    ["an Excel workbook", new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 6, 0]), 422, /Excel workbook/],
    ["an empty file", new Uint8Array(), 422, /empty/],
    ["a blank file", "\r\n \r\n", 422, /empty/],
    ["a header-only file", "\ufeffName,Email,Phone\r\n", 422, /header row but no contacts/],
    ["a Windows-1252 file", cp1252, 422, /not UTF-8/],
    ["a file mixing UTF-8 and Windows-1252", new Uint8Array([...utf8("name,email\nJörg,j@bad.test\n"), ...cp1252.slice(11)]), 422, /not UTF-8/],
    ["a UTF-16 file", new Uint8Array([0xff, 0xfe, 0x6e, 0, 0x61, 0, 0x6d, 0, 0x65, 0]), 422, /UTF-16/],
    ["a quoted cell never closed", 'name,email\n"Ann,ann@bad.test\n', 422, /never closed/],
    ["a 6 MB file", "name,email\n" + "x".repeat(6 * 1024 * 1024), 413, /larger than 5 MB/],
  ];

  for (const [label, content, status, message] of cases) {
    it(`refuses ${label}`, async () => {
      const firm = await createFirm();
      const staff = await staffBrowser(firm, "member");
      const before = await snapshot(firm);
      const response = await upload(staff, content);
      expect(response.status).toBe(status);
      expect(await response.text()).toMatch(message);
      expect(await snapshot(firm)).toEqual(before);
    });
  }

  it("refuses a 50 MB upload from its declared size, before reading it, and one with no declared size", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const before = await snapshot(firm);
    const boundary = "----import-test";
    // The declared size alone decides: the body is never read.
    const huge = await staff.fetch("/app/contacts/import", {
      method: "POST",
      body: `--${boundary}\r\n`,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(50 * 1024 * 1024) },
    });
    expect(huge.status).toBe(413);
    expect(await huge.text()).toMatch(/larger than 5 MB/);
    // A streamed body without Content-Length.
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    // The server answers without reading the body, so the write may fail: that is expected.
    void writer.write(utf8(`--${boundary}--\r\n`)).then(() => writer.close()).catch(() => undefined);
    const undeclared = await staff.fetch("/app/contacts/import", { method: "POST", body: readable, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    expect(undeclared.status).toBe(411);
    expect(await snapshot(firm)).toEqual(before);
  });

  it("refuses a form without a file, a garbled body and a cross-site upload", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const before = await snapshot(firm);
    const noFile = await staff.post("/app/contacts/import", { file: "name,email\nA,a@bad.test\n" });
    expect(noFile.status).toBe(422);
    expect(await noFile.text()).toMatch(/Choose a CSV file/);
    const garbled = await staff.fetch("/app/contacts/import", { method: "POST", body: "%%%", headers: { "content-type": "multipart/form-data; boundary=x", "content-length": "3" } });
    expect(garbled.status).toBe(400);
    const crossSite = await upload(staff, "name,email\nA,a@bad.test\n", "contacts.csv", { "sec-fetch-site": "cross-site", origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(await snapshot(firm)).toEqual(before);
  });

  it("refuses impossible column choices and unknown buttons on the mapping step, changing nothing", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const id = await uploadOk(staff, "Name,Email\nAnn,ann@map.test\n");
    const before = await snapshot(firm);
    const attempts: Array<[Record<string, string>, number, RegExp]> = [
      [{ intent: "start", "column-0": "email", "column-1": "email" }, 422, /more than one column/],
      [{ intent: "start", "column-0": "name", "column-1": "" }, 422, /email address/],
      [{ intent: "preview", "column-0": "name", "column-1": "password" }, 422, /from the list/],
      [{ intent: "start", "column-0": "name", "column-1": "email", mode: "merge" }, 400, /buttons/],
      [{ intent: "drop-table" }, 400, /buttons/],
      [{}, 400, /buttons/],
    ];
    for (const [form, status, message] of attempts) {
      const response = await staff.post(`/app/contacts/import/${id}`, form);
      expect(response.status).toBe(status);
      expect(await response.text()).toMatch(message);
    }
    expect((await staff.fetch("/app/contacts/import/not a valid id!")).status).toBe(404);
    expect((await staff.fetch("/app/contacts/import/nosuchimport")).status).toBe(404);
    expect(await snapshot(firm)).toEqual(before);
  });

  it("imports formula-looking cells as plain text and escapes them in the report", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const file = 'Name,Email,Phone,Notes\r\n"=HYPERLINK(""http://evil.example"",""x"")",f1@formula.test,+44 20 7946 0000,@SUM(1+1)\r\n-2+3,=cmd|\' /C calc\'!A0,,\r\n';
    const id = await uploadOk(staff, file);
    const page = await (await staff.fetch(`/app/contacts/import/${id}`)).text();
    expect(page).not.toContain("<a href=\"http://evil.example");
    const run = await runImport(staff, id, { "column-0": "name", "column-1": "email", "column-2": "phone", "column-3": "notes", mode: "skip" });
    expect(run.record).toMatchObject({ createdCount: 1, failedCount: 1 });
    const [stored] = await liveContacts(firm);
    expect(stored).toMatchObject({ name: '=HYPERLINK("http://evil.example","x")', phone: "+44 20 7946 0000", notes: "@SUM(1+1)" });
    const report = csvRecords(await (await staff.fetch(`/app/contacts/import/${id}/report.csv`)).text());
    expect(report).toEqual([
      { row: "3", result: "failed", reason: "Email is not a valid address", name: "'-2+3", email: "'=cmd|' /C calc'!A0", phone: "", company: "", notes: "" },
    ]);
  });
});

describe("CSV import: the existing-contact lookup uses an index", () => {
  it("matches lower(email) through contacts_firm_live_email_idx", async () => {
    const plan = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT lower(c.email) AS email FROM contacts c
       WHERE c.firm_id = ?1 AND c.deleted_at IS NULL AND lower(c.email) IN (SELECT value FROM json_each(?2))`,
    )
      .bind("firm", '["a@b.c"]')
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toContain("contacts_firm_live_email_idx");
  });
});

describe("abandoned imports (ADR 013)", () => {
  const TWO_COLUMNS = { "column-0": "name", "column-1": "email", mode: "skip" };

  it("a file left unimported, or an import left part-way, for 7 days is cancelled by the scheduled job and deleted from R2; newer and finished ones stay", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const waiting = await uploadOk(staff, smallFile(3, "wait"));
    const partway = await uploadOk(staff, smallFile(1_200, "part"));
    const started = await staff.post(`/app/contacts/import/${partway}`, { intent: "start", ...TWO_COLUMNS });
    expect(started.status).toBe(302);
    const fresh = await uploadOk(staff, smallFile(3, "fresh"));
    const done = (await runImport(staff, await uploadOk(staff, smallFile(3, "done")), TWO_COLUMNS)).record;
    expect((await importRecord(partway)).status).toBe("running");
    const imported = (await liveContacts(firm)).length;

    const now = Date.now();
    const eightDaysAgo = now - 8 * 24 * 60 * 60_000;
    for (const id of [waiting, partway, done.id]) {
      await db.update(contactImports).set({ createdAt: eightDaysAgo }).where(eq(contactImports.id, id));
    }
    await runScheduledJobs(env, db, now);

    for (const id of [waiting, partway]) {
      const record = await importRecord(id);
      expect(record.status).toBe("cancelled");
      expect(await env.FILES.head(record.objectKey)).toBeNull();
    }
    // Rows a part-way import already wrote stay, as with "Cancel".
    expect((await liveContacts(firm)).length).toBe(imported);
    const kept = await importRecord(fresh);
    expect(kept.status).toBe("ready");
    expect(await env.FILES.head(kept.objectKey)).not.toBeNull();
    expect((await importRecord(done.id)).status).toBe("completed");
    // The page of a cancelled upload says so, and its file can no longer be started.
    const page = await staff.fetch(`/app/contacts/import/${waiting}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("It was left unfinished for 7 days, so it was stopped and the file was deleted.");
    const restart = await staff.post(`/app/contacts/import/${waiting}`, { intent: "start", ...TWO_COLUMNS });
    expect(restart.status).not.toBe(302);
    expect(restart.status).toBeLessThan(500);
  });

  it("the page says why an import stopped as it was recorded: someone's Stop, even after a week, is not called abandoned", async () => {
    const firm = await createFirm();
    const staff = await staffBrowser(firm);
    const old = await uploadOk(staff, smallFile(3, "old"));
    // Uploaded 8 days ago and stopped by a person before the scheduled job got to it.
    await db.update(contactImports).set({ createdAt: Date.now() - 8 * 24 * 60 * 60_000 }).where(eq(contactImports.id, old));
    expect((await staff.post(`/app/contacts/import/${old}`, { intent: "cancel" })).status).toBe(302);
    const record = await importRecord(old);
    expect(record).toMatchObject({ status: "cancelled", stopReason: "cancelled" });
    expect(record.stoppedByLabel).toMatch(/@/);
    const html = await (await staff.fetch(`/app/contacts/import/${old}`)).text();
    expect(html).toContain(`${record.stoppedByLabel} stopped it on`);
    expect(html).not.toContain("left unfinished");

    // And the scheduled job's stop is recorded as such, whoever created the import.
    const left = await uploadOk(staff, smallFile(3, "left"));
    await db.update(contactImports).set({ createdAt: Date.now() - 8 * 24 * 60 * 60_000 }).where(eq(contactImports.id, left));
    await runScheduledJobs(env, db);
    expect(await importRecord(left)).toMatchObject({ status: "cancelled", stopReason: "abandoned", stoppedByLabel: null });
    const page = await (await staff.fetch(`/app/contacts/import/${left}`)).text();
    expect(page).toContain("It was left unfinished for 7 days");
    expect(page).not.toContain("stopped it on");
  });
});
