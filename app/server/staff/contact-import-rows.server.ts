// From CSV cells to contacts: which column is which field, and what is wrong with each row. Pure
// functions, so the preview and every chunk of the import judge a row the same way.
import { FIELD_LABELS, IMPORT_FIELDS, type ImportField } from "~/lib/contact-import";
import { emailField } from "../fields";
import type { DataRow } from "../csv-parse.server";

export { FIELD_LABELS, IMPORT_FIELDS, type ImportField };
export type ColumnMapping = Partial<Record<ImportField, number>>;

export const FIELD_LIMITS = { name: 200, email: 254, phone: 50, company: 200, notes: 2000 } as const;

/** Header names as Excel, Google Contacts, Outlook and accounting packages write them, squashed. */
const SYNONYMS: Record<ImportField, string[]> = {
  name: ["name", "fullname", "contactname", "displayname", "clientname", "customername", "customer", "client", "contact"],
  firstName: ["firstname", "givenname", "forename", "first"],
  lastName: ["lastname", "familyname", "surname", "last"],
  email: ["email", "emailaddress", "mail", "email1value", "email1", "primaryemail", "emailaddress1", "workemail"],
  phone: ["phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "phone1value", "businessphone", "workphone", "homephone", "primaryphone"],
  company: ["company", "companyname", "organization", "organisation", "organizationname", "organisationname", "organization1name", "business", "businessname", "entity", "entityname", "employer"],
  notes: ["notes", "note", "comments", "comment", "description", "remarks"],
};

/** Looser matches for headers like "Work e-mail" or "Mobile no.", tried after the exact ones. */
const CONTAINS: Partial<Record<ImportField, string[]>> = {
  email: ["email", "mail"],
  phone: ["phone", "mobile", "tel"],
  company: ["company", "organi"],
  notes: ["note", "comment"],
};

function squash(header: string): string {
  return header.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** A first guess from the header; the user confirms or changes it before anything is imported. */
export function guessMapping(header: string[]): ColumnMapping {
  const squashed = header.map(squash);
  const mapping: ColumnMapping = {};
  const taken = new Set<number>();
  const claim = (field: ImportField, index: number) => {
    mapping[field] = index;
    taken.add(index);
  };
  for (const field of IMPORT_FIELDS) {
    const index = squashed.findIndex((h, i) => !taken.has(i) && SYNONYMS[field].includes(h));
    if (index >= 0) claim(field, index);
  }
  for (const field of IMPORT_FIELDS) {
    const parts = CONTAINS[field];
    if (mapping[field] !== undefined || !parts) continue;
    const index = squashed.findIndex((h, i) => !taken.has(i) && parts.some((part) => h.includes(part)));
    if (index >= 0) claim(field, index);
  }
  return mapping;
}

/** The mapping from the form: one select per column (`column-<i>`), each a field or "" for none. */
export function mappingFromForm(form: FormData, columns: number): { ok: true; mapping: ColumnMapping } | { ok: false; message: string } {
  const mapping: ColumnMapping = {};
  for (let i = 0; i < columns; i++) {
    const value = form.get(`column-${i}`);
    if (value === null || value === "") continue;
    if (typeof value !== "string" || !(IMPORT_FIELDS as readonly string[]).includes(value)) {
      return { ok: false, message: "Choose a field for each column from the list." };
    }
    const field = value as ImportField;
    if (mapping[field] !== undefined) return { ok: false, message: `${FIELD_LABELS[field]} is chosen for more than one column. Choose it for one column only.` };
    mapping[field] = i;
  }
  return checkMapping(mapping, columns);
}

/** Email and a name (or first/last name) must come from somewhere; indexes must be real columns. */
export function checkMapping(mapping: ColumnMapping, columns: number): { ok: true; mapping: ColumnMapping } | { ok: false; message: string } {
  for (const index of Object.values(mapping)) {
    if (!Number.isInteger(index) || index < 0 || index >= columns) return { ok: false, message: "Choose a field for each column from the list." };
  }
  if (mapping.email === undefined) return { ok: false, message: "Choose which column holds the email address." };
  if (mapping.name === undefined && mapping.firstName === undefined && mapping.lastName === undefined) {
    return { ok: false, message: "Choose which column holds the name (or the first and last name)." };
  }
  return { ok: true, mapping };
}

export type ContactValues = { name: string; email: string; phone: string | null; company: string | null; notes: string | null };
export type RowOutcome = { outcome: "failed" | "skipped"; reason: string };
export type CheckedRow = { rowNumber: number; values: ContactValues; problem: RowOutcome | null };

/**
 * Cell text as stored: control characters removed (line breaks kept in notes, as CRLF-free "\n"),
 * trimmed. Formula-looking text ("=SUM(…)", "+44…", "@…") is kept as it is: it is only ever
 * shown as HTML text, and CSV output escapes it (csv.server.ts).
 */
function clean(value: string | undefined, keepLineBreaks = false): string {
  if (!value) return "";
  const text = value.replace(/\r\n?/g, "\n");
  // eslint-disable-next-line no-control-regex
  const stripped = keepLineBreaks ? text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, "") : text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return stripped.trim();
}

function cellOf(cells: string[], index: number | undefined, keepLineBreaks = false): string {
  return index === undefined ? "" : clean(cells[index], keepLineBreaks);
}

export function rowValues(cells: string[], mapping: ColumnMapping): ContactValues {
  const fullName = cellOf(cells, mapping.name);
  const name = fullName || [cellOf(cells, mapping.firstName), cellOf(cells, mapping.lastName)].filter(Boolean).join(" ");
  const email = cellOf(cells, mapping.email);
  return {
    name,
    email,
    phone: cellOf(cells, mapping.phone) || null,
    company: cellOf(cells, mapping.company) || null,
    notes: cellOf(cells, mapping.notes, true) || null,
  };
}

function failures(values: ContactValues): string[] {
  const reasons: string[] = [];
  if (!values.name) reasons.push("Name is missing");
  else if (values.name.length > FIELD_LIMITS.name) reasons.push(`Name is longer than ${FIELD_LIMITS.name} characters`);
  if (!values.email) reasons.push("Email is missing");
  else if (!emailField.safeParse(values.email).success) reasons.push("Email is not a valid address");
  if (values.phone && values.phone.length > FIELD_LIMITS.phone) reasons.push(`Phone is longer than ${FIELD_LIMITS.phone} characters`);
  if (values.company && values.company.length > FIELD_LIMITS.company) reasons.push(`Company is longer than ${FIELD_LIMITS.company} characters`);
  if (values.notes && values.notes.length > FIELD_LIMITS.notes) reasons.push(`Notes are longer than ${FIELD_LIMITS.notes} characters`);
  return reasons;
}

/**
 * Every row with its values (email lowercased when valid) and its problem, if any. Duplicates are
 * judged over the whole file, so the first row with an address wins wherever the chunks fall.
 * Whether a row is already a contact is for the database to say (see contact-import.server.ts).
 */
export function checkRows(rows: DataRow[], mapping: ColumnMapping): CheckedRow[] {
  const firstRowOf = new Map<string, number>();
  return rows.map(({ rowNumber, cells }) => {
    const values = rowValues(cells, mapping);
    const reasons = failures(values);
    if (reasons.length > 0) return { rowNumber, values, problem: { outcome: "failed", reason: reasons.join("; ") } };
    values.email = values.email.toLowerCase();
    const first = firstRowOf.get(values.email);
    if (first !== undefined) return { rowNumber, values, problem: { outcome: "skipped", reason: `Same email as row ${first}` } };
    firstRowOf.set(values.email, rowNumber);
    return { rowNumber, values, problem: null };
  });
}

/**
 * The same as `checkRows(rows, mapping).slice(from, to)`, without checking every row of the file: an
 * import chunk needs its own rows checked, and of the rows before it only those with an address the
 * chunk holds (to know which row an address belongs to). Checking the whole file on each of the 20
 * chunks of a 10,000-row import was most of a chunk's CPU (bench/import.ts).
 */
export function checkChunk(rows: DataRow[], mapping: ColumnMapping, from: number, to: number): CheckedRow[] {
  const chunk = rows.slice(from, to).map(({ rowNumber, cells }) => {
    const values = rowValues(cells, mapping);
    return { rowNumber, values, reasons: failures(values) };
  });
  const wanted = new Set(chunk.filter((r) => r.reasons.length === 0).map((r) => r.values.email.toLowerCase()));
  const firstRowOf = new Map<string, number>();
  for (let i = 0; i < from && i < rows.length; i++) {
    const email = cellOf(rows[i].cells, mapping.email).toLowerCase();
    if (!wanted.has(email) || firstRowOf.has(email)) continue;
    if (failures(rowValues(rows[i].cells, mapping)).length === 0) firstRowOf.set(email, rows[i].rowNumber);
  }
  return chunk.map(({ rowNumber, values, reasons }) => {
    if (reasons.length > 0) return { rowNumber, values, problem: { outcome: "failed", reason: reasons.join("; ") } };
    values.email = values.email.toLowerCase();
    const first = firstRowOf.get(values.email);
    if (first !== undefined) return { rowNumber, values, problem: { outcome: "skipped", reason: `Same email as row ${first}` } };
    firstRowOf.set(values.email, rowNumber);
    return { rowNumber, values, problem: null };
  });
}
