// Running a contact import (ADR 013): one chunk of CHUNK_ROWS rows per D1 batch, guarded so a retried,
// replayed or concurrent chunk changes nothing; and the problems it recorded.
import { and, asc, eq } from "drizzle-orm";
import { contactImportProblems } from "../../../db/schema";
import { checkChunk, type ContactValues } from "./contact-import-rows.server";
import { CHUNK_ROWS } from "~/lib/contact-import";
import { generateId } from "../crypto.server";
import { type CsvRefusal } from "../csv-parse.server";
import type { Database } from "../db.server";
import type { ContactImport } from "../types";
import { type Meta, type StaffActor, UPDATE_SLICE_ROWS, getImport, importMapping, jsonSlices, readStoredFile } from "./contact-import.server";

type ProblemJson = { row: number; outcome: "failed" | "skipped"; reason: string } & ContactValues;
type ContactJson = { id: string; row: number } & ContactValues;

/**
 * Imports the rows from next_row on (at most CHUNK_ROWS) in one D1 batch. Every statement of the
 * batch carries the same guard, "this import is running and its next_row is still the one we read",
 * and the last statement moves next_row on: a retried, replayed or concurrent chunk finds the guard
 * false and changes nothing. Whether a row's email is already a contact is decided inside the batch,
 * so a contact added meanwhile is never duplicated; the counters add SQLite's changes() of the
 * statement just before them, so they count what the batch really did.
 *
 * The file is parsed again for each chunk (no parsed copy to keep in sync): about 5-40 ms of CPU for
 * 10,000 rows, bounded by the 5 MB / 25,000-row limits.
 */
export async function importNextChunk(
  db: Database,
  env: Env,
  actor: StaffActor,
  record: ContactImport,
  meta: Meta,
): Promise<{ ok: true; record: ContactImport } | CsvRefusal> {
  if (record.status !== "running") return { ok: true, record };
  const parsed = await readStoredFile(env, record);
  if (!parsed.ok) return parsed;
  const from = record.nextRow;
  const chunk = checkChunk(parsed.rows, importMapping(record), from, from + CHUNK_ROWS);
  const to = from + chunk.length;
  const done = to >= parsed.rows.length;
  const now = Date.now();

  const problems: ProblemJson[] = [];
  const valid: ContactJson[] = [];
  for (const row of chunk) {
    if (row.problem) problems.push({ row: row.rowNumber, ...row.problem, ...row.values });
    else valid.push({ id: generateId(), row: row.rowNumber, ...row.values });
  }
  const failed = problems.filter((p) => p.outcome === "failed").length;

  const d1 = db.$client;
  // ?1 import id, ?2 firm id, ?3 the next_row this chunk starts at; further parameters from ?4.
  const guard = `EXISTS (SELECT 1 FROM contact_imports WHERE id = ?1 AND firm_id = ?2 AND status = 'running' AND next_row = ?3)`;
  const ownRow = `id = ?1 AND firm_id = ?2 AND status = 'running' AND next_row = ?3`;
  const bind = (sql: string, ...more: unknown[]) => d1.prepare(sql).bind(record.id, record.firmId, from, ...more);
  const liveContactWithEmail = `EXISTS (SELECT 1 FROM contacts c WHERE c.firm_id = ?2 AND c.deleted_at IS NULL AND lower(c.email) = json_extract(j.value, '$.email'))`;
  const problemColumns = `import_id, firm_id, row_number, outcome, reason, name, email, phone, company, notes`;
  const problemValues = (outcome: string, reason: string) =>
    `?1, ?2, json_extract(j.value, '$.row'), ${outcome}, ${reason}, json_extract(j.value, '$.name'), json_extract(j.value, '$.email'),
     json_extract(j.value, '$.phone'), json_extract(j.value, '$.company'), json_extract(j.value, '$.notes')`;

  const statements: D1PreparedStatement[] = [];
  for (const slice of jsonSlices(problems)) {
    statements.push(
      bind(
        `INSERT INTO contact_import_problems (${problemColumns})
         SELECT ${problemValues("json_extract(j.value, '$.outcome')", "json_extract(j.value, '$.reason')")} FROM json_each(?4) j WHERE ${guard}`,
        slice,
      ),
    );
  }
  statements.push(bind(`UPDATE contact_imports SET failed_count = failed_count + ?4, skipped_count = skipped_count + ?5 WHERE ${ownRow}`, failed, problems.length - failed));
  // Updates go in slices of UPDATE_SLICE_ROWS: each contact found looks its row up in the slice.
  for (const slice of jsonSlices(valid, record.mode === "update" ? UPDATE_SLICE_ROWS : Infinity)) {
    if (record.mode === "update") {
      // Empty cells leave what the contact has; the email is how the row found the contact.
      // (Not UPDATE … FROM: SQLite then walks every contact of the firm for each slice.)
      statements.push(
        bind(
          `UPDATE contacts SET (name, phone, company, notes) = (
             SELECT json_extract(j.value, '$.name'), coalesce(json_extract(j.value, '$.phone'), contacts.phone),
                    coalesce(json_extract(j.value, '$.company'), contacts.company), coalesce(json_extract(j.value, '$.notes'), contacts.notes)
             FROM json_each(?4) j WHERE json_extract(j.value, '$.email') = lower(contacts.email))
           WHERE contacts.firm_id = ?2 AND contacts.deleted_at IS NULL
             AND lower(contacts.email) IN (SELECT json_extract(value, '$.email') FROM json_each(?4)) AND ${guard}`,
          slice,
        ),
        bind(`UPDATE contact_imports SET updated_count = updated_count + changes() WHERE ${ownRow}`),
      );
    } else {
      statements.push(
        bind(
          `INSERT INTO contact_import_problems (${problemColumns})
           SELECT ${problemValues("'skipped'", "'Already a contact'")} FROM json_each(?4) j WHERE ${guard} AND ${liveContactWithEmail}`,
          slice,
        ),
        bind(`UPDATE contact_imports SET skipped_count = skipped_count + changes() WHERE ${ownRow}`),
      );
    }
    statements.push(
      bind(
        `INSERT INTO contacts (id, firm_id, name, email, phone, company, notes, created_at)
         SELECT json_extract(j.value, '$.id'), ?2, json_extract(j.value, '$.name'), json_extract(j.value, '$.email'), json_extract(j.value, '$.phone'),
                json_extract(j.value, '$.company'), json_extract(j.value, '$.notes'), ?5
         FROM json_each(?4) j WHERE ${guard} AND NOT ${liveContactWithEmail}`,
        slice,
        now,
      ),
      bind(`UPDATE contact_imports SET created_count = created_count + changes() WHERE ${ownRow}`),
    );
  }
  if (done) {
    // One audit event for the whole import, with the final counts, written by the batch that ends it.
    statements.push(
      bind(
        `INSERT INTO audit_events (id, firm_id, at, type, actor_type, actor_id, actor_label, contact_id, detail, ip, user_agent)
         SELECT ?4, ?2, ?5, 'contact.import_completed', 'staff', ?6, ?7, NULL,
                json_object('importId', id, 'fileName', file_name, 'mode', mode, 'rows', total_rows, 'created', created_count,
                            'updated', updated_count, 'skipped', skipped_count, 'failed', failed_count),
                ?8, ?9
         FROM contact_imports WHERE ${ownRow}`,
        generateId(),
        now,
        actor.staff.id,
        actor.staff.email,
        meta.ip,
        meta.userAgent.slice(0, 300),
      ),
    );
  }
  statements.push(
    bind(
      `UPDATE contact_imports SET next_row = ?4, status = ?5, completed_at = ?6 WHERE ${ownRow}`,
      to,
      done ? "completed" : "running",
      done ? now : null,
    ),
  );
  await d1.batch(statements);
  const after = await getImport(db, record.firmId, record.id);
  if (!after) return { ok: false, message: "Import not found." };
  // The file is no longer needed once every row is in; the report is built from D1.
  if (after.status === "completed") await env.FILES.delete(record.objectKey).catch(() => undefined);
  return { ok: true, record: after };
}

/** The skipped and failed rows of an import, in file order. */
export function importProblems(db: Database, firmId: string, importId: string) {
  return db
    .select()
    .from(contactImportProblems)
    .where(and(eq(contactImportProblems.importId, importId), eq(contactImportProblems.firmId, firmId)))
    .orderBy(asc(contactImportProblems.rowNumber));
}
