// What an upload must be before it is stored: extension and declared type both on the allowlist and
// agreeing, not empty, at most 50 MB, under a name that is safe to show and to download again.
import { describe, expect, it } from "vitest";
import { checkFile, MAX_FILE_BYTES, MAX_FILE_NAME_LENGTH, sanitizeFileName } from "~/server/requests/files.server";

describe("checkFile", () => {
  it.each([
    ["p60.pdf", "application/pdf", "application/pdf"],
    ["SCAN.PDF", "Application/PDF", "application/pdf"],
    ["photo.heif.heic", "image/heif", "image/heic"],
    ["ledger.csv", "application/vnd.ms-excel", "text/csv"],
    ["notes.txt", "text/plain; charset=utf-8", "text/plain"],
  ])("accepts %s declared as %s, stored as %s", (name, type, stored) => {
    expect(checkFile({ name, type, size: 10 })).toMatchObject({ ok: true, contentType: stored, size: 10 });
  });

  it.each([
    ["page.html", "text/html"],
    ["p60.pdf", "text/html"],
    ["p60.pdf.html", "application/pdf"],
    ["image.svg", "image/svg+xml"],
    ["script.js", "application/javascript"],
    ["noextension", "application/pdf"],
    [".pdf", "application/pdf"],
    ["p60.pdf", ""],
  ])("refuses %s declared as %j (415)", (name, type) => {
    expect(checkFile({ name, type, size: 10 })).toMatchObject({ ok: false, status: 415 });
  });

  it("refuses an empty file (422) and one over 50 MB (413), and accepts exactly 50 MB", () => {
    expect(checkFile({ name: "a.pdf", type: "application/pdf", size: 0 })).toMatchObject({ ok: false, status: 422 });
    expect(checkFile({ name: "a.pdf", type: "application/pdf", size: MAX_FILE_BYTES + 1 })).toMatchObject({ ok: false, status: 413 });
    expect(checkFile({ name: "a.pdf", type: "application/pdf", size: MAX_FILE_BYTES })).toMatchObject({ ok: true });
  });

  it("judges the extension of the name it keeps, not of a path the browser sent", () => {
    expect(checkFile({ name: "C:\\evil.html\\p60.pdf", type: "application/pdf", size: 1 })).toMatchObject({ ok: true, fileName: "p60.pdf" });
    expect(checkFile({ name: "docs.pdf/evil.html", type: "application/pdf", size: 1 })).toMatchObject({ ok: false, status: 415 });
  });
});

describe("sanitizeFileName", () => {
  it("keeps a long name's extension within the limit", () => {
    const name = sanitizeFileName(`${"a".repeat(300)}.pdf`);
    expect(name).toHaveLength(MAX_FILE_NAME_LENGTH);
    expect(name.endsWith(".pdf")).toBe(true);
  });

  it("removes right-to-left overrides that would disguise the extension, and leading dots", () => {
    expect(sanitizeFileName("invoice\u202Efdp.exe")).toBe("invoicefdp.exe");
    expect(sanitizeFileName("...hidden.pdf")).toBe("hidden.pdf");
    expect(sanitizeFileName("  \u0000\t  ")).toBe("file");
  });
});
