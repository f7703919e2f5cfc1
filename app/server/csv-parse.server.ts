// Reading the CSV files people export from Excel, Numbers and Google Sheets (ADR 013): UTF-8 with or
// without a BOM, comma, semicolon or tab, quoted cells with delimiters, quotes and line breaks inside,
// CRLF or LF. Everything is text: no cell is ever turned into a number or a date.
// papaparse does the quoting rules; this module decides what we accept and how we describe a refusal.
import Papa from "papaparse";
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from "~/lib/contact-import";

export { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS };
// Outlook's contacts export has about 90 columns; a sheet wider than this is not a contact list.
export const MAX_IMPORT_COLUMNS = 200;
/** Records read at most, blank ones included (Excel can write thousands of ";;;" rows). */
const MAX_RECORDS = 4 * MAX_IMPORT_ROWS;

export type CsvRefusal = { ok: false; message: string };
export type DataRow = { rowNumber: number; cells: string[] };
export type ParsedCsv = { ok: true; header: string[]; rows: DataRow[]; delimiter: string };

const UTF8_ADVICE =
  "Save it as UTF-8 and upload it again: in Excel choose File › Save As › “CSV UTF-8 (Comma delimited)”; Google Sheets and Numbers export UTF-8 already.";

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/**
 * The file's text, or why it is refused. Only UTF-8 is accepted: a Windows-1252 (or any other
 * legacy) file cannot be told apart from Latin-1 or MacRoman reliably, and a wrong guess would put
 * "Ã©" into thousands of names without anyone noticing. Refusing with the way out is safer.
 */
export function decodeCsv(bytes: Uint8Array): { ok: true; text: string } | CsvRefusal {
  if (bytes.length === 0) return { ok: false, message: "The file is empty. Choose a CSV file with a header row and one contact per row." };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    return { ok: false, message: "This is an Excel workbook or another zipped file, not a CSV. In Excel choose File › Save As › “CSV UTF-8 (Comma delimited)” and upload that file." };
  }
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0])) {
    return { ok: false, message: "This is an old Excel workbook (.xls), not a CSV. In Excel choose File › Save As › “CSV UTF-8 (Comma delimited)” and upload that file." };
  }
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    return { ok: false, message: `This file is saved as UTF-16 (“Unicode Text”). ${UTF8_ADVICE}` };
  }
  if (bytes.includes(0)) return { ok: false, message: "This is not a CSV file: it contains binary data. Upload the CSV export of your spreadsheet." };
  let text: string;
  try {
    // The default (ignoreBOM: false) drops a leading UTF-8 BOM, which Excel writes.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, message: `This file is not UTF-8 text (it may be Windows-1252, as older Excel versions save CSV). ${UTF8_ADVICE}` };
  }
  if (text.trim() === "") return { ok: false, message: "The file is empty. Choose a CSV file with a header row and one contact per row." };
  return { ok: true, text };
}

/** The first line break outside quotes; Excel writes CRLF and keeps a bare LF inside cells. */
export function detectNewline(text: string): "\r\n" | "\n" | "\r" {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "\r") return text[i + 1] === "\n" ? "\r\n" : "\r";
    else if (!quoted && ch === "\n") return "\n";
  }
  return "\n";
}

const CANDIDATE_DELIMITERS = [",", ";", "\t"] as const;
const SAMPLE_CHARS = 64 * 1024;
const SAMPLE_ROWS = 20;

/**
 * Comma, semicolon (Excel in much of Europe) or tab: the one that splits the header into the most
 * columns while every sampled row has the same width. Done on a 64 KiB sample because papaparse's own
 * guess re-reads the whole file for each candidate (about 200 ms for 10,000 rows).
 */
export function detectDelimiter(text: string, newline: string): string {
  const sample = text.slice(0, SAMPLE_CHARS);
  let best: { delimiter: string; width: number; consistent: boolean } = { delimiter: ",", width: 1, consistent: false };
  for (const delimiter of CANDIDATE_DELIMITERS) {
    const result = Papa.parse<string[]>(sample, { delimiter, newline: newline as "\n", preview: SAMPLE_ROWS + 1 });
    const records = result.data.filter((cells) => !isBlank(cells));
    // The last sampled record may be cut off by the sample's end.
    if (text.length > SAMPLE_CHARS && records.length > 2) records.pop();
    const width = records[0]?.length ?? 0;
    const consistent = records.every((cells) => cells.length === width);
    // A consistent split beats an inconsistent one; then the wider one wins; ties keep the comma.
    const better = best.width <= 1 || (consistent !== best.consistent ? consistent : width > best.width);
    if (width > 1 && better) best = { delimiter, width, consistent };
  }
  return best.delimiter;
}

function isBlank(cells: string[]): boolean {
  return cells.every((cell) => cell.trim() === "");
}

/**
 * The header and the data rows of a decoded file. Blank records (Excel writes ";;;;" for empty
 * rows) are skipped, but rows keep the number a spreadsheet shows them with, so a report can say
 * "row 12" and mean the row the user sees.
 */
export function parseCsv(text: string): ParsedCsv | CsvRefusal {
  const newline = detectNewline(text);
  let body = text;
  let delimiter: string;
  let firstRowNumber = 1;
  // Excel understands (and some tools write) a first line "sep=;" naming the delimiter.
  const sep = /^sep=(.)(\r\n|\n|\r)/i.exec(text);
  if (sep) {
    delimiter = sep[1];
    body = text.slice(sep[0].length);
    firstRowNumber = 2;
  } else {
    delimiter = detectDelimiter(text, newline);
  }
  // Row by row, stopping at the limit: a 5 MB file of one-character lines is 2.6 million records, and
  // holding them all (about 150 MB) would not fit in a Worker's 128 MB.
  let header: string[] | null = null;
  const rows: DataRow[] = [];
  let index = -1;
  let unclosedQuoteRow: number | null = null;
  let tooMany = false;
  Papa.parse<string[]>(body, {
    delimiter,
    newline: newline as "\n",
    step: (result, parser) => {
      index++;
      if (result.errors.some((error) => error.type === "Quotes")) {
        unclosedQuoteRow = index + firstRowNumber;
        parser.abort();
        return;
      }
      const cells = result.data;
      if (!isBlank(cells)) {
        if (header === null) header = cells.map((cell, i) => cell.trim() || `Column ${i + 1}`);
        else rows.push({ rowNumber: index + firstRowNumber, cells });
      }
      if (rows.length > MAX_IMPORT_ROWS || index >= MAX_RECORDS) {
        tooMany = true;
        parser.abort();
      }
    },
  });
  if (unclosedQuoteRow !== null) {
    return { ok: false, message: `The file has a quoted cell that is never closed in row ${unclosedQuoteRow}. Check that row in your spreadsheet, export it again and upload it.` };
  }
  if (tooMany) {
    return { ok: false, message: `The file has more than ${MAX_IMPORT_ROWS.toLocaleString("en-US")} rows, the most one import takes. Split it into smaller files.` };
  }
  if (header === null) return { ok: false, message: "The file is empty. Choose a CSV file with a header row and one contact per row." };
  const columns = (header as string[]).length;
  if (columns > MAX_IMPORT_COLUMNS) return { ok: false, message: `The file has ${columns} columns; at most ${MAX_IMPORT_COLUMNS} can be read. Remove the columns you do not need.` };
  if (rows.length === 0) return { ok: false, message: "The file has a header row but no contacts under it. Add one contact per row and upload it again." };
  return { ok: true, header: header as string[], rows, delimiter };
}

/** Decoding and parsing in one step, as the upload and each chunk need it. */
export function readCsv(bytes: Uint8Array): ParsedCsv | CsvRefusal {
  const decoded = decodeCsv(bytes);
  return decoded.ok ? parseCsv(decoded.text) : decoded;
}
