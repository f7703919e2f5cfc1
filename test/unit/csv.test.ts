// CSV exports (the access report): cells a spreadsheet would run as a formula start with a quote (OWASP
// "CSV injection"), and commas, quotes and line breaks stay inside their cell.
import { describe, expect, it } from "vitest";
import { csvResponse, toCsv } from "~/server/csv.server";

describe("toCsv", () => {
  it("writes a header and rows with CRLF line ends, empty cells for null and undefined", () => {
    expect(toCsv(["a", "b", "c"], [[1, null, undefined], ["x", true, 0]])).toBe("a,b,c\r\n1,,\r\nx,true,0\r\n");
  });

  it.each(["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://evil.example\")"])("neutralises a formula: %j", (value) => {
    const line = toCsv(["v"], [[value]]).split("\r\n")[1];
    // A spreadsheet opening the file sees text starting with a quote, never a formula.
    const cell = line.startsWith('"') ? line.slice(1, -1).replace(/""/g, '"') : line;
    expect(cell.startsWith("'")).toBe(true);
    expect(cell.slice(1)).toBe(value);
  });

  it("leaves ordinary text alone, including a formula character later in the cell", () => {
    expect(toCsv(["v"], [["Olivia Park"], ["a=b"], ["x@client.test"], ["1-2"]])).toBe("v\r\nOlivia Park\r\na=b\r\nx@client.test\r\n1-2\r\n");
  });

  it("quotes a cell with a comma, a quote or a line break, doubling quotes", () => {
    expect(toCsv(["v"], [["a,b"], ['say "hi"'], ["two\nlines"], ["cr\rhere"]])).toBe('v\r\n"a,b"\r\n"say ""hi"""\r\n"two\nlines"\r\n"cr\rhere"\r\n');
  });

  it("quotes a neutralised formula that also needs quoting", () => {
    expect(toCsv(["v"], [['=1,"2"']])).toBe(`v\r\n"'=1,""2"""\r\n`);
  });
});

describe("csvResponse", () => {
  it("is a download that is never cached, with a file name reduced to safe characters", async () => {
    const response = csvResponse('access report "2026"/..\r\nX-Evil: 1.csv', "a\r\n");
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="access_report__2026__..__X-Evil__1.csv"');
    expect(await response.text()).toBe("a\r\n");
  });
});
