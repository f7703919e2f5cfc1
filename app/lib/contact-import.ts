// The fields a CSV column can be imported as, shared by the import page and the server (ADR 013).
export const IMPORT_FIELDS = ["name", "firstName", "lastName", "email", "phone", "company", "notes"] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

export const FIELD_LABELS: Record<ImportField, string> = {
  name: "Name",
  firstName: "First name",
  lastName: "Last name",
  email: "Email",
  phone: "Phone",
  company: "Company",
  notes: "Notes",
};

/**
 * An uploaded file that is not imported within this long is removed by the scheduled job: the CSV holds
 * clients' names and addresses, and nothing needs it once an import is left alone.
 */
export const ABANDONED_IMPORT_DAYS = 7;
export const ABANDONED_IMPORT_MS = ABANDONED_IMPORT_DAYS * 24 * 60 * 60_000;

/** Rows per chunk: one request, one D1 batch (see ADR 013 for why 500). */
export const CHUNK_ROWS = 500;

/** Checked against Content-Length before the body is read, and again on the bytes. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 25_000;
