// Request files: uploads to R2 and downloads through the worker (issue 6; SECURITY.md rules 20, 32).
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { requestFiles, requestItems, requests } from "../../db/schema";
import { contentDisposition, sanitizeFileName } from "../../app/server/requests/files.server";
import { createContact, createFirm, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { emailsTo } from "../support/portal";
import { clientBrowser, createRequest } from "../support/requests";

type Setup = Awaited<ReturnType<typeof setup>>;

async function setup() {
  const firm = await createFirm();
  const contact = await createContact(firm);
  const { request, items } = await createRequest(firm, contact, {
    items: [
      ["file", "Upload your P60"],
      ["task", "Confirm"],
    ],
  });
  const client = await clientBrowser(firm, contact);
  return { firm, contact, request, fileItem: items[0], taskItem: items[1], client, path: `/portal/${firm.slug}/requests/${request.id}` };
}

function multipart(itemId: string, file: File): FormData {
  const form = new FormData();
  form.set("itemId", itemId);
  form.set("file", file);
  return form;
}

async function stored(firm: TestFirm) {
  const objects = await env.FILES.list({ prefix: `firms/${firm.id}/` });
  const rows = await db.select().from(requestFiles).where(eq(requestFiles.firmId, firm.id));
  return { objects: objects.objects, rows };
}

async function uploadPdf(s: Setup, name = "p60.pdf", body = "%PDF-1.7 my p60") {
  const response = await s.client.fetch(s.path, { method: "POST", body: multipart(s.fileItem.id, new File([body], name, { type: "application/pdf" })) });
  expect(response.status).toBe(200);
  const [row] = await db.select().from(requestFiles).where(eq(requestFiles.itemId, s.fileItem.id));
  return row;
}

describe("uploads", () => {
  it("a multipart upload (no JavaScript) lands in R2 under an id-only key, with a sanitised name, and completes the item", async () => {
    const s = await setup();
    const row = await uploadPdf(s, "C:\\Users\\me\\..\\..\\evil\u202e\u0007 name.pdf");
    expect(row.fileName).toBe("evil name.pdf");
    expect(row.objectKey).toBe(`firms/${s.firm.id}/requests/${s.request.id}/${row.id}`);
    expect(row.contentType).toBe("application/pdf");
    const object = await env.FILES.get(row.objectKey);
    expect(await object!.text()).toBe("%PDF-1.7 my p60");
    const [item] = await db.select().from(requestItems).where(eq(requestItems.id, s.fileItem.id));
    expect(item.completedAt).not.toBeNull();
    const page = await (await s.client.fetch(s.path)).text();
    expect(page).toContain(`${s.path}/files/${row.id}`);
  });

  it("the streaming endpoint takes the raw file as the body", async () => {
    const s = await setup();
    const response = await s.client.fetch(`${s.path}/items/${s.fileItem.id}/upload`, {
      method: "POST",
      body: "date,amount\n2026-01-01,12.50\n",
      headers: { "content-type": "text/csv", "x-file-name": encodeURIComponent("bank statement é.csv") },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true });
    const { objects, rows } = await stored(s.firm);
    expect(objects).toHaveLength(1);
    expect(rows[0]).toMatchObject({ fileName: "bank statement é.csv", contentType: "text/csv", size: 29 });
  });

  it("oversize uploads are refused by their declared length before anything is read or stored", async () => {
    const s = await setup();
    const huge = String(51 * 1024 * 1024);
    const raw = await s.client.fetch(`${s.path}/items/${s.fileItem.id}/upload`, {
      method: "POST",
      body: "small",
      headers: { "content-type": "application/pdf", "x-file-name": "big.pdf", "content-length": huge },
    });
    expect(raw.status).toBe(413);
    expect(((await raw.json()) as { message: string }).message).toContain("larger than 50 MB");

    const form = await s.client.fetch(s.path, {
      method: "POST",
      body: multipart(s.fileItem.id, new File(["%PDF"], "big.pdf", { type: "application/pdf" })),
      headers: { "content-length": huge },
    });
    expect(form.status).toBe(413);
    expect(await form.text()).toContain("larger than 50 MB");
    const { objects, rows } = await stored(s.firm);
    expect(objects).toHaveLength(0);
    expect(rows).toHaveLength(0);
  });

  it("a body longer or shorter than its declared length is refused and nothing is stored", async () => {
    const s = await setup();
    for (const [declared, actual] of [
      [10, 4000],
      [4000, 10],
    ]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("x".repeat(actual)));
          controller.close();
        },
      });
      const response = await s.client.fetch(`${s.path}/items/${s.fileItem.id}/upload`, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain", "x-file-name": "notes.txt", "content-length": String(declared) },
        duplex: "half",
      } as RequestInit);
      expect(response.status, `${declared} declared, ${actual} sent`).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain("did not arrive complete");
    }
    const { objects, rows } = await stored(s.firm);
    expect(objects).toHaveLength(0);
    expect(rows).toHaveLength(0);
  });

  it("disallowed types are refused with a clear message and nothing is stored", async () => {
    const s = await setup();
    const cases: Array<[string, string]> = [
      ["setup.exe", "application/x-msdownload"],
      ["page.html", "text/html"],
      ["p60.pdf", "text/html"], // allowed extension, wrong declared type
      ["image.svg", "image/svg+xml"],
      ["noextension", "application/pdf"],
      ["archive.pdf.zip", "application/zip"],
    ];
    for (const [name, type] of cases) {
      const response = await s.client.fetch(s.path, { method: "POST", body: multipart(s.fileItem.id, new File(["MZ..."], name, { type })) });
      expect(response.status, name).toBe(415);
      expect(await response.text()).toContain("That type of file is not accepted.");
      const raw = await s.client.fetch(`${s.path}/items/${s.fileItem.id}/upload`, {
        method: "POST",
        body: "MZ...",
        headers: { "content-type": type, "x-file-name": name },
      });
      expect(raw.status, name).toBe(415);
    }
    const empty = await s.client.fetch(s.path, { method: "POST", body: multipart(s.fileItem.id, new File([], "", { type: "application/octet-stream" })) });
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain("Choose a file to upload.");
    const toTask = await s.client.fetch(s.path, { method: "POST", body: multipart(s.taskItem.id, new File(["%PDF"], "a.pdf", { type: "application/pdf" })) });
    expect(toTask.status).toBe(404);
    const garbage = await s.client.fetch(s.path, { method: "POST", body: "--x\r\nnope", headers: { "content-type": "multipart/form-data; boundary=x" } });
    expect(garbage.status).toBe(400);
    const { objects, rows } = await stored(s.firm);
    expect(objects).toHaveLength(0);
    expect(rows).toHaveLength(0);
  });

  it("a completed request takes no more files", async () => {
    const s = await setup();
    await db.update(requests).set({ status: "completed", completedAt: Date.now() }).where(eq(requests.id, s.request.id));
    const response = await s.client.fetch(s.path, { method: "POST", body: multipart(s.fileItem.id, new File(["%PDF"], "a.pdf", { type: "application/pdf" })) });
    expect(response.status).toBe(409);
    expect((await stored(s.firm)).objects).toHaveLength(0);
  });
});

describe("downloads", () => {
  it("the owner downloads as an attachment, never cached or sniffed", async () => {
    const s = await setup();
    const row = await uploadPdf(s, "Relevé été.pdf");
    const response = await s.client.fetch(`${s.path}/files/${row.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="Releve ete.pdf"; filename*=UTF-8''Relev%C3%A9%20%C3%A9t%C3%A9.pdf`);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(await response.text()).toBe("%PDF-1.7 my p60");
  });

  it("the firm's staff download it; another contact of the firm and another firm's staff get 404 (rule 20)", async () => {
    const s = await setup();
    const row = await uploadPdf(s);
    const staff = await createStaff(s.firm, { role: "member" });
    const staffBrowser = await signInStaff(staff.email, PASSWORD);
    const mine = await staffBrowser.fetch(`/app/requests/${s.request.id}/files/${row.id}`);
    expect(mine.status).toBe(200);
    expect(mine.headers.get("content-disposition")).toContain('attachment; filename="p60.pdf"');
    expect(await mine.text()).toBe("%PDF-1.7 my p60");

    const neighbour = await createContact(s.firm);
    const neighbourBrowser = await clientBrowser(s.firm, neighbour);
    expect((await neighbourBrowser.fetch(`${s.path}/files/${row.id}`)).status).toBe(404);
    expect((await neighbourBrowser.fetch(s.path)).status).toBe(404);

    const otherFirm = await createFirm();
    const outsider = await createStaff(otherFirm, { role: "admin" });
    const outsiderBrowser = await signInStaff(outsider.email, PASSWORD);
    const refused = await outsiderBrowser.fetch(`/app/requests/${s.request.id}/files/${row.id}`);
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toContain("PDF-1.7");

    // A client session of another firm, under this firm's portal path, opens nothing.
    const otherContact = await createContact(otherFirm);
    const otherClient = await clientBrowser(otherFirm, otherContact);
    expect((await otherClient.fetch(`${s.path}/files/${row.id}`)).status).toBe(302);
    // Signed out: sent to sign in, no bytes.
    const anonymous = await new Browser().fetch(`/app/requests/${s.request.id}/files/${row.id}`);
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toContain("/login");
  });
});

describe("rule 20: tenant isolation on the request routes", () => {
  it("another firm's request ids answer 404 on every staff request route and change nothing", async () => {
    const s = await setup();
    const row = await uploadPdf(s);
    const otherFirm = await createFirm();
    const outsider = await createStaff(otherFirm, { role: "admin" });
    const browser = await signInStaff(outsider.email, PASSWORD);
    const since = Date.now();
    expect((await browser.fetch(`/app/requests/${s.request.id}`)).status).toBe(404);
    expect((await browser.post(`/app/requests/${s.request.id}`, { intent: "send-reminder" })).status).toBe(404);
    expect((await browser.fetch(`/app/requests/${s.request.id}/files/${row.id}`)).status).toBe(404);
    const list = await (await browser.fetch(`/app/requests?contact=${s.contact.id}`)).text();
    expect(list).not.toContain(s.request.title);
    const create = await browser.post("/app/requests/new", {
      contactId: s.contact.id,
      title: "Sneaky",
      reminderSchedule: "none",
      itemKind0: "task",
      itemLabel0: "Give me everything",
    });
    expect(create.status).toBe(422);
    expect(await db.select().from(requests).where(eq(requests.firmId, otherFirm.id))).toHaveLength(0);
    expect(await emailsTo(s.contact.email, since)).toHaveLength(0);
    const [after] = await db.select().from(requests).where(eq(requests.id, s.request.id));
    expect(after.lastReminderOn).toBeNull();
  });
});

describe("file names and headers", () => {
  it("sanitises names and encodes Content-Disposition safely", () => {
    expect(sanitizeFileName("../../etc/passwd")).toBe("passwd");
    expect(sanitizeFileName("..\\..\\boot.ini")).toBe("boot.ini");
    expect(sanitizeFileName("\u0000\u001f")).toBe("file");
    expect(sanitizeFileName("...hidden.pdf")).toBe("hidden.pdf");
    expect(sanitizeFileName(`${"a".repeat(300)}.pdf`)).toHaveLength(120);
    expect(sanitizeFileName(`${"a".repeat(300)}.pdf`).endsWith(".pdf")).toBe(true);
    expect(contentDisposition('quote"back\\slash;.pdf')).toBe(
      `attachment; filename="quote_back_slash_.pdf"; filename*=UTF-8''quote%22back%5Cslash%3B.pdf`,
    );
    expect(contentDisposition("\r\nSet-Cookie: x.pdf")).not.toMatch(/[\r\n]/);
  });
});
