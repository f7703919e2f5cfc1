// The CSV reader and the column mapper on files shaped like real exports (ADR 013).
import { describe, expect, it } from "vitest";
import { checkMapping, checkRows, guessMapping, mappingFromForm, rowValues } from "../../app/server/staff/contact-import-rows.server";
import { decodeCsv, detectDelimiter, parseCsv, readCsv } from "../../app/server/csv-parse.server";
import { toCsv } from "../../app/server/csv.server";
import { parseCsv as strictParseCsv } from "../support/csv";

const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = [0xef, 0xbb, 0xbf];

function read(text: string | Uint8Array) {
  const result = readCsv(typeof text === "string" ? utf8(text) : text);
  if (!result.ok) throw new Error(result.message);
  return result;
}

function refusal(bytes: Uint8Array | string): string {
  const result = readCsv(typeof bytes === "string" ? utf8(bytes) : bytes);
  if (result.ok) throw new Error("expected a refusal");
  return result.message;
}

describe("reading CSV files", () => {
  it("reads Excel's 'CSV UTF-8' export: BOM, CRLF, quoted cells with commas, quotes and line breaks", () => {
    const text = 'Name,Email,Notes\r\n"Smith, Jane",jane@example.com,"Said ""hello""\nthen left"\r\nBob,bob@example.com,\r\n';
    const parsed = read(new Uint8Array([...BOM, ...utf8(text)]));
    expect(parsed.header).toEqual(["Name", "Email", "Notes"]);
    expect(parsed.rows).toEqual([
      { rowNumber: 2, cells: ["Smith, Jane", "jane@example.com", 'Said "hello"\nthen left'] },
      { rowNumber: 3, cells: ["Bob", "bob@example.com", ""] },
    ]);
  });

  it("detects semicolons (Excel in much of Europe), even when cells contain commas", () => {
    const parsed = read("Name;E-mail;Company\r\nMüller, Jörg;jorg@example.de;Müller & Söhne, GmbH\r\n\"A;B\";ab@example.de;x\r\n");
    expect(parsed.delimiter).toBe(";");
    expect(parsed.header).toEqual(["Name", "E-mail", "Company"]);
    expect(parsed.rows[0].cells).toEqual(["Müller, Jörg", "jorg@example.de", "Müller & Söhne, GmbH"]);
    expect(parsed.rows[1].cells[0]).toBe("A;B");
  });

  it("detects tabs, and honours Excel's 'sep=' first line", () => {
    expect(read("name\temail\nAnn\tann@example.com\n").delimiter).toBe("\t");
    const parsed = read("sep=;\r\nname;email\r\nAnn;ann@example.com\r\n");
    expect(parsed.delimiter).toBe(";");
    expect(parsed.header).toEqual(["name", "email"]);
    expect(parsed.rows).toEqual([{ rowNumber: 3, cells: ["Ann", "ann@example.com"] }]);
  });

  it("prefers the delimiter that splits every sampled row the same way", () => {
    expect(detectDelimiter("a,b;c\n1,2;3\n4,5;6\n", "\n")).toBe(",");
    expect(detectDelimiter("a;b;c\n1,5;2;3\n", "\n")).toBe(";");
    expect(detectDelimiter("email\nx@example.com\n", "\n")).toBe(",");
  });

  it("reads LF-only files (Google Sheets, Numbers) and old Mac CR files", () => {
    expect(read("name,email\nAnn,ann@example.com\n").rows).toHaveLength(1);
    expect(read("name,email\rAnn,ann@example.com\rBo,bo@example.com").rows).toHaveLength(2);
  });

  it("keeps spreadsheet row numbers across blank rows, and ignores Excel's ';;;' empty rows", () => {
    const parsed = read("name;email;phone\r\nAnn;ann@example.com;1\r\n;;\r\n\r\nBo;bo@example.com;2\r\n;;\r\n");
    expect(parsed.rows.map((r) => r.rowNumber)).toEqual([2, 5]);
  });

  it("keeps every cell as text: dates, numbers, leading zeros and formulas stay as written", () => {
    const parsed = read("name,email,notes,phone\nAnn,ann@example.com,01/02/2024,007\nBo,bo@example.com,45321,=SUM(A1:A2)\nCy,cy@example.com,2024-01-02,+44 20 7946 0000\n");
    expect(parsed.rows.map((r) => [r.cells[2], r.cells[3]])).toEqual([
      ["01/02/2024", "007"],
      ["45321", "=SUM(A1:A2)"],
      ["2024-01-02", "+44 20 7946 0000"],
    ]);
  });

  it("names headerless columns", () => {
    expect(read("name,,email\nAnn,x,ann@example.com\n").header).toEqual(["name", "Column 2", "email"]);
  });

  it("refuses an empty file, a blank file and a header-only file with a clear message", () => {
    expect(refusal(new Uint8Array())).toMatch(/empty/);
    expect(refusal(" \r\n\r\n")).toMatch(/empty/);
    expect(refusal(new Uint8Array(BOM))).toMatch(/empty/);
    expect(refusal("name,email\r\n")).toMatch(/header row but no contacts/);
    expect(refusal("name,email\r\n,\r\n , \r\n")).toMatch(/header row but no contacts/);
  });

  it("refuses binary files, workbooks and PDFs", () => {
    expect(refusal(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]))).toMatch(/Excel workbook/);
    expect(refusal(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1]))).toMatch(/old Excel workbook/);
    expect(refusal(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))).toMatch(/binary/);
    expect(refusal(utf8("name,email\nAnn\u0000,ann@example.com\n"))).toMatch(/binary/);
  });

  it("refuses UTF-16, Windows-1252 and files that mix encodings, naming the fix", () => {
    expect(refusal(new Uint8Array([0xff, 0xfe, 0x6e, 0x00, 0x61, 0x00]))).toMatch(/UTF-16/);
    // "Müller" in Windows-1252: ü is the single byte 0xFC.
    const cp1252 = new Uint8Array([...utf8("name,email\nM"), 0xfc, ...utf8("ller,m@example.com\n")]);
    expect(refusal(cp1252)).toMatch(/not UTF-8.*CSV UTF-8/s);
    const mixed = new Uint8Array([...utf8("name,email\nJörg,j@example.com\nM"), 0xfc, ...utf8("ller,m@example.com\n")]);
    expect(refusal(mixed)).toMatch(/not UTF-8/);
    expect(decodeCsv(new Uint8Array([...BOM, ...utf8("Jörg")]))).toEqual({ ok: true, text: "Jörg" });
  });

  it("refuses a quoted cell that is never closed, naming the row", () => {
    expect(refusal('name,email\nAnn,ann@example.com\n"Bo,bo@example.com\nCy,cy@example.com\n')).toMatch(/never closed in row 3/);
  });

  it("refuses files with too many rows or columns", () => {
    const many = ["name,email", ...Array.from({ length: 25_001 }, (_, i) => `P${i},p${i}@example.com`)].join("\n");
    expect(refusal(many)).toMatch(/more than 25,000 rows/);
    // Millions of one-character lines are refused without holding them all in memory.
    expect(refusal("name,email\n" + "a\n".repeat(2_600_000))).toMatch(/more than 25,000 rows/);
    expect(refusal("name,email\nA,a@example.com\n" + ",\n".repeat(100_001))).toMatch(/more than 25,000 rows/);
    expect(refusal(Array.from({ length: 201 }, (_, i) => `c${i}`).join(",") + "\n" + "x,".repeat(200) + "x\n")).toMatch(/201 columns/);
  });

  it("parses 10,000 rows with quoted commas and CRLF line ends", () => {
    // Its speed is held by `npm run bench` (the import target): in workerd the clock does not move
    // during CPU work, so a timed assertion here could never fail.
    const text = ["Name,Email,Phone", ...Array.from({ length: 10_000 }, (_, i) => `"Person ${i}, Jr",p${i}@example.com,+1 555 ${i}`)].join("\r\n");
    const parsed = parseCsv(text);
    expect(parsed.ok && parsed.rows.length).toBe(10_000);
    expect(parsed.ok && parsed.rows[9_999]).toEqual({ rowNumber: 10_001, cells: ["Person 9999, Jr", "p9999@example.com", "+1 555 9999"] });
  });
});

describe("mapping columns to contact fields", () => {
  it("guesses from the headers of common exports", () => {
    expect(guessMapping(["Name", "Email", "Phone", "Company", "Notes"])).toEqual({ name: 0, email: 1, phone: 2, company: 3, notes: 4 });
    // Google Contacts
    expect(guessMapping(["First Name", "Last Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization Name"])).toEqual({
      firstName: 0,
      lastName: 1,
      email: 2,
      phone: 3,
      company: 4,
    });
    // Outlook
    expect(guessMapping(["Title", "First Name", "Last Name", "Company", "E-mail Address", "Mobile Phone", "Notes"])).toMatchObject({
      firstName: 1,
      lastName: 2,
      company: 3,
      email: 4,
      phone: 5,
      notes: 6,
    });
    expect(guessMapping(["Client", "Work e-mail", "Mobile no.", "Comments"])).toEqual({ name: 0, email: 1, phone: 2, notes: 3 });
    expect(guessMapping(["foo", "bar"])).toEqual({});
  });

  it("never maps one column to two fields", () => {
    const mapping = guessMapping(["email", "email address"]);
    expect(mapping).toEqual({ email: 0 });
  });

  it("reads the user's choice from the form and refuses impossible ones", () => {
    const form = (entries: Record<string, string>) => {
      const data = new FormData();
      for (const [k, v] of Object.entries(entries)) data.set(k, v);
      return data;
    };
    expect(mappingFromForm(form({ "column-0": "email", "column-1": "name", "column-2": "" }), 3)).toEqual({ ok: true, mapping: { email: 0, name: 1 } });
    expect(mappingFromForm(form({ "column-0": "email", "column-1": "email" }), 2)).toMatchObject({ ok: false, message: expect.stringMatching(/more than one column/) });
    expect(mappingFromForm(form({ "column-0": "name" }), 2)).toMatchObject({ ok: false, message: expect.stringMatching(/email/) });
    expect(mappingFromForm(form({ "column-0": "email" }), 2)).toMatchObject({ ok: false, message: expect.stringMatching(/name/) });
    expect(mappingFromForm(form({ "column-0": "email", "column-1": "password" }), 2)).toMatchObject({ ok: false });
    expect(checkMapping({ email: 0, name: 5 }, 2)).toMatchObject({ ok: false });
    expect(mappingFromForm(form({ "column-0": "email", "column-1": "lastName" }), 2)).toEqual({ ok: true, mapping: { email: 0, lastName: 1 } });
  });

  it("builds the name from first and last name when there is no name column, and trims cells", () => {
    expect(rowValues(["  Jane ", " Doe", "JANE@Example.com "], { firstName: 0, lastName: 1, email: 2 })).toEqual({
      name: "Jane Doe",
      email: "JANE@Example.com",
      phone: null,
      company: null,
      notes: null,
    });
    expect(rowValues(["", "Doe", "x@example.com"], { firstName: 0, lastName: 1, email: 2 }).name).toBe("Doe");
    expect(rowValues(["Full Name", "Doe", "x@example.com"], { name: 0, lastName: 1, email: 2 }).name).toBe("Full Name");
  });

  it("keeps line breaks in notes only, and drops control characters", () => {
    const values = rowValues(["Ann\tLee\u0007", "a@example.com", "line 1\r\nline 2\u0000"], { name: 0, email: 1, notes: 2 });
    expect(values.name).toBe("Ann Lee");
    expect(values.notes).toBe("line 1\nline 2");
  });

  it("finds every row's problem: missing name, bad email, too long, and repeats in the file (first wins)", () => {
    const rows = [
      { rowNumber: 2, cells: ["Ann", "Ann@Example.com"] },
      { rowNumber: 3, cells: ["", "nobody@example.com"] },
      { rowNumber: 4, cells: ["Bo", "not an email"] },
      { rowNumber: 5, cells: ["Ann again", "ann@example.COM"] },
      { rowNumber: 6, cells: ["", ""] },
      { rowNumber: 7, cells: ["x".repeat(201), "long@example.com"] },
      { rowNumber: 8, cells: ["=HYPERLINK(\"http://evil.example\")", "formula@example.com"] },
    ];
    const checked = checkRows(rows, { name: 0, email: 1 });
    expect(checked.map((r) => [r.rowNumber, r.problem?.outcome ?? "ok", r.problem?.reason ?? ""])).toEqual([
      [2, "ok", ""],
      [3, "failed", "Name is missing"],
      [4, "failed", "Email is not a valid address"],
      [5, "skipped", "Same email as row 2"],
      [6, "failed", "Name is missing; Email is missing"],
      [7, "failed", "Name is longer than 200 characters"],
      [8, "ok", ""],
    ]);
    expect(checked[0].values.email).toBe("ann@example.com");
    // Formula-looking text is kept as text, exactly.
    expect(checked[6].values.name).toBe('=HYPERLINK("http://evil.example")');
  });

  it("writes formula-looking cells back out escaped (the report goes through toCsv)", () => {
    const out = toCsv(["name"], [["=SUM(A1)"], ["+1 555"], ["-2"], ["@cmd"], ["\tx"], ["plain"]]);
    const cells = strictParseCsv(out).slice(1).map((r) => r[0]);
    expect(cells).toEqual(["'=SUM(A1)", "'+1 555", "'-2", "'@cmd", "'\tx", "plain"]);
  });
});
