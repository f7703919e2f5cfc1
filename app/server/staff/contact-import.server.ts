// CSV import of contacts (ADR 013): the file goes to R2, an import record to D1; staff map the columns
// and see every row's problem before anything is written; then rows are imported CHUNK_ROWS at a time,
// each chunk one D1 batch that also advances the record's next_row, so an interrupted import resumes
// exactly where it stopped and two tabs driving the same import never import a row twice.
// This module: the upload, the record, the preview and the settings; contact-import-run.server.ts runs the chunks.
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { contactImports, type ContactImportMode } from "../../../db/schema";
import { checkRows, checkMapping, guessMapping, type CheckedRow, type ColumnMapping, type ContactValues } from "./contact-import-rows.server";
import { ABANDONED_IMPORT_MS, CHUNK_ROWS } from "~/lib/contact-import";
import { generateId } from "../crypto.server";
import { readCsv, type CsvRefusal, type ParsedCsv } from "../csv-parse.server";
import type { Database } from "../db.server";
import { sanitizeFileName } from "../requests/files.server";
import type { ContactImport } from "../types";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

export type StaffActor = { firm: { id: string }; staff: { id: string; email: string } };
export type Meta = { ip: string; userAgent: string };

/**
 * CHUNK_ROWS rows per chunk (one request, one D1 batch). 500 rows make a handful of statements whose
 * JSON parameters stay well under D1's limits, take tens of milliseconds of D1 time, and give 20 steps
 * of progress for 10,000 rows. The cost that grows with the file is re-reading it (see importNextChunk).
 */
export { CHUNK_ROWS };
/**
 * Rows travel to D1 as one JSON text parameter per statement (`json_each(?)`), which keeps every
 * statement at a few bound parameters (D1 allows 100). A chunk's JSON is split at this size so no
 * statement carries more than this, whatever the cell lengths.
 */
const MAX_JSON_PARAM = 90_000;
export const UPDATE_SLICE_ROWS = 100;

export function importObjectKey(firmId: string, importId: string): string {
  return `imports/${firmId}/${importId}.csv`;
}

export type UploadRefusal = { ok: false; status: 400 | 411 | 413 | 415 | 422; message: string };

/**
 * Stores a checked file in R2 and its record in D1. Nothing is stored for a refused file; if D1
 * refuses the record, the object is removed again.
 */
export async function createImport(
  db: Database,
  env: Env,
  actor: StaffActor,
  file: { name: string; bytes: Uint8Array },
): Promise<{ ok: true; importId: string } | UploadRefusal> {
  const parsed = readCsv(file.bytes);
  if (!parsed.ok) return { ok: false, status: 422, message: parsed.message };
  const id = generateId();
  const key = importObjectKey(actor.firm.id, id);
  await env.FILES.put(key, file.bytes, { httpMetadata: { contentType: "text/csv" }, customMetadata: { firmId: actor.firm.id, importId: id } });
  try {
    await db.insert(contactImports).values({
      id,
      firmId: actor.firm.id,
      createdByStaffId: actor.staff.id,
      createdByLabel: actor.staff.email,
      fileName: sanitizeFileName(file.name || "contacts.csv"),
      fileSize: file.bytes.length,
      objectKey: key,
      mapping: JSON.stringify(guessMapping(parsed.header)),
      header: JSON.stringify(parsed.header),
      totalRows: parsed.rows.length,
      createdAt: Date.now(),
    });
  } catch (error) {
    await env.FILES.delete(key).catch(() => undefined);
    throw error;
  }
  return { ok: true, importId: id };
}

export async function getImport(db: Database, firmId: Ref, importId: string, read: Read = direct): Promise<ContactImport | null> {
  const [row] = await read(db.select().from(contactImports).where(and(eq(contactImports.id, importId), eq(contactImports.firmId, firmId))).limit(1));
  return row ?? null;
}

export function listImports(db: Database, firmId: Ref, read: Read = direct, limit = 10): Promise<ContactImport[]> {
  return read(db.select().from(contactImports).where(eq(contactImports.firmId, firmId)).orderBy(desc(contactImports.createdAt), desc(contactImports.id)).limit(limit));
}

export function importMapping(record: ContactImport): ColumnMapping {
  return JSON.parse(record.mapping) as ColumnMapping;
}

export function importHeader(record: ContactImport): string[] {
  return JSON.parse(record.header) as string[];
}

/** The stored file, parsed again. A file that parsed at upload parses the same way now. */
export async function readStoredFile(env: Env, record: ContactImport): Promise<ParsedCsv | CsvRefusal> {
  const object = await env.FILES.get(record.objectKey);
  if (!object) return { ok: false, message: "The uploaded file is no longer stored. Upload it again." };
  return readCsv(new Uint8Array(await object.arrayBuffer()));
}

/** Which of these (lowercased) emails belong to live contacts of the firm. */
async function existingEmails(db: Database, firmId: string, emails: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  // One bound JSON array per query instead of one parameter per email (D1 allows 100 parameters).
  for (const slice of jsonSlices(emails)) {
    const result = await db.$client
      .prepare(
        `SELECT lower(c.email) AS email FROM contacts c
         WHERE c.firm_id = ?1 AND c.deleted_at IS NULL AND lower(c.email) IN (SELECT value FROM json_each(?2))`,
      )
      .bind(firmId, slice)
      .all<{ email: string }>();
    for (const row of result.results) found.add(row.email);
  }
  return found;
}

/**
 * JSON arrays of the items, each at most MAX_JSON_PARAM characters (one item may exceed it alone)
 * and at most maxItems items.
 */
export function jsonSlices<T>(items: T[], maxItems = Infinity): string[] {
  const slices: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const item of items) {
    const part = JSON.stringify(item);
    if (parts.length > 0 && (size + part.length + 1 > MAX_JSON_PARAM || parts.length >= maxItems)) {
      slices.push(`[${parts.join(",")}]`);
      parts = [];
      size = 2;
    }
    parts.push(part);
    size += part.length + 1;
  }
  if (parts.length > 0) slices.push(`[${parts.join(",")}]`);
  return slices;
}

export const PREVIEW_ROWS = 10;
export const LISTED_PROBLEMS = 100;

export type PreviewRow = { rowNumber: number; values: ContactValues; status: string; tone: "ok" | "warn" | "error" };
export type ImportPreview = {
  rows: PreviewRow[];
  problems: PreviewRow[];
  counts: { total: number; create: number; existing: number; duplicates: number; failed: number };
  mappingProblem: string | null;
};

/**
 * What the import would do with the current mapping, row by row, without writing anything: the first
 * rows as they will be stored, the rows with a problem, and the totals.
 */
export async function previewImport(db: Database, env: Env, record: ContactImport): Promise<{ ok: true; preview: ImportPreview } | CsvRefusal> {
  const parsed = await readStoredFile(env, record);
  if (!parsed.ok) return parsed;
  const mapping = importMapping(record);
  const valid = checkMapping(mapping, parsed.header.length);
  const checked = valid.ok ? checkRows(parsed.rows, mapping) : [];
  const existing = await existingEmails(db, record.firmId, checked.filter((r) => !r.problem).map((r) => r.values.email));
  const counts = { total: parsed.rows.length, create: 0, existing: 0, duplicates: 0, failed: 0 };
  const describe = (row: CheckedRow): PreviewRow => {
    if (row.problem) return { rowNumber: row.rowNumber, values: row.values, status: row.problem.reason, tone: row.problem.outcome === "failed" ? "error" : "warn" };
    if (existing.has(row.values.email)) {
      const status = record.mode === "update" ? "Already a contact: will be updated" : "Already a contact: will be skipped";
      return { rowNumber: row.rowNumber, values: row.values, status, tone: "warn" };
    }
    return { rowNumber: row.rowNumber, values: row.values, status: "New contact", tone: "ok" };
  };
  const problems: PreviewRow[] = [];
  for (const row of checked) {
    if (row.problem?.outcome === "failed") counts.failed++;
    else if (row.problem) counts.duplicates++;
    else if (existing.has(row.values.email)) counts.existing++;
    else counts.create++;
    if ((row.problem || existing.has(row.values.email)) && problems.length < LISTED_PROBLEMS) problems.push(describe(row));
  }
  return { ok: true, preview: { rows: checked.slice(0, PREVIEW_ROWS).map(describe), problems, counts, mappingProblem: valid.ok ? null : valid.message } };
}

/** Mapping and mode can change until the import starts. */
export async function saveImportSettings(db: Database, record: ContactImport, mapping: ColumnMapping, mode: ContactImportMode): Promise<void> {
  await db
    .update(contactImports)
    .set({ mapping: JSON.stringify(mapping), mode })
    .where(and(eq(contactImports.id, record.id), eq(contactImports.firmId, record.firmId), eq(contactImports.status, "ready")));
}

export async function startImport(db: Database, record: ContactImport, mapping: ColumnMapping, mode: ContactImportMode): Promise<void> {
  await db
    .update(contactImports)
    .set({ mapping: JSON.stringify(mapping), mode, status: "running", startedAt: Date.now() })
    .where(and(eq(contactImports.id, record.id), eq(contactImports.firmId, record.firmId), eq(contactImports.status, "ready")));
}

const ABANDONED_PER_RUN = 50;

/**
 * Scheduled (ADR 013's in-app alternative to an R2 lifecycle rule): imports uploaded more than
 * ABANDONED_IMPORT_MS ago and still waiting for column choices or left part-way are cancelled as "Cancel"
 * does (rows already imported stay, the file is deleted).
 * A bounded number per run; the rest go in the next runs.
 */
export async function cancelAbandonedImports(db: Database, env: Env, now = Date.now()): Promise<number> {
  const abandoned = await db
    .select()
    .from(contactImports)
    .where(and(inArray(contactImports.status, ["ready", "running"]), lt(contactImports.createdAt, now - ABANDONED_IMPORT_MS)))
    .limit(ABANDONED_PER_RUN);
  for (const record of abandoned) await cancelImport(db, env, record, { reason: "abandoned" });
  return abandoned.length;
}

/**
 * Stops an import: rows already imported stay; the file is removed. Why, and who, is kept for the import's
 * page: a staff member's "Stop the import", or the scheduled job's week without progress.
 */
export async function cancelImport(
  db: Database,
  env: Env,
  record: ContactImport,
  stop: { reason: "cancelled"; by: string } | { reason: "abandoned" },
): Promise<void> {
  await db
    .update(contactImports)
    .set({ status: "cancelled", completedAt: Date.now(), stopReason: stop.reason, stoppedByLabel: stop.reason === "cancelled" ? stop.by : null })
    .where(and(eq(contactImports.id, record.id), eq(contactImports.firmId, record.firmId), eq(contactImports.status, record.status)));
  await env.FILES.delete(record.objectKey);
}
