// CSV import, steps 2 and 3: choose the columns and the mode with a preview of every row's problem,
// then watch the import run. With JavaScript the page asks for the next chunk until it is done;
// without it, each "Continue" imports one chunk and the page shows where it stands. ADR 013.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useFetcher, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { useEffect, useState } from "react";
import { z } from "zod";
import { FormError } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { CONTACT_IMPORT_MODES } from "../../db/schema";
import { ABANDONED_IMPORT_DAYS, CHUNK_ROWS, FIELD_LABELS, IMPORT_FIELDS, type ImportField } from "~/lib/contact-import";
import { mappingFromForm } from "~/server/staff/contact-import-rows.server";
import { cancelImport, getImport, importHeader, importMapping, previewImport, saveImportSettings, startImport } from "~/server/staff/contact-import.server";
import { importNextChunk } from "~/server/staff/contact-import-run.server";
import type { ContactImport } from "~/server/types";
import { idParam } from "~/server/fields";
import { readForm } from "~/server/forms.server";
import { staffPage, type StaffAuth } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Import contacts · Client Portal" }];

async function findImport(request: Request, context: LoaderFunctionArgs["context"], importId: string | undefined): Promise<{ auth: StaffAuth; record: ContactImport }> {
  const id = idParam.safeParse(importId);
  // The import comes in the session's round trip (issue 14).
  const { data: record, ...auth } = await staffPage(request, context, async (firm) => (id.success ? getImport(context.db, firm, id.data, context.read) : null));
  if (!record) throw new Response("Import not found", { status: 404 });
  return { auth, record };
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { record } = await findImport(request, context, params.importId);
  const summary = {
    id: record.id,
    fileName: record.fileName,
    status: record.status,
    mode: record.mode,
    createdAt: record.createdAt,
    createdBy: record.createdByLabel,
    completedAt: record.completedAt,
    stopReason: record.stopReason,
    stoppedBy: record.stoppedByLabel,
    totalRows: record.totalRows,
    nextRow: record.nextRow,
    counts: { created: record.createdCount, updated: record.updatedCount, skipped: record.skippedCount, failed: record.failedCount },
  };
  // The preview reads the whole file; it is needed only while the columns are being chosen.
  if (record.status !== "ready") return { record: summary, header: [] as string[], mapping: {}, preview: null, previewError: null };
  const preview = await previewImport(context.db, context.env, record);
  return {
    record: summary,
    header: importHeader(record),
    mapping: importMapping(record),
    preview: preview.ok ? preview.preview : null,
    previewError: preview.ok ? null : preview.message,
  };
}

const intentSchema = z.object({ intent: z.enum(["preview", "start", "chunk", "cancel"]), mode: z.enum(CONTACT_IMPORT_MODES).optional() });

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { auth, record } = await findImport(request, context, params.importId);
  const form = await readForm(request);
  const parsed = intentSchema.safeParse({ intent: form.get("intent"), mode: form.get("mode") ?? undefined });
  if (!parsed.success) return json({ ok: false as const, formError: "Use one of the buttons on this page." }, { status: 400 });
  const { intent, mode } = parsed.data;
  const here = `/app/contacts/import/${record.id}`;
  const meta = context.meta;

  if (intent === "cancel") {
    if (record.status === "ready" || record.status === "running") {
      await cancelImport(context.db, context.env, record, { reason: "cancelled", by: auth.staff.email });
    }
    return redirect(here);
  }
  if (intent === "chunk") {
    const result = await importNextChunk(context.db, context.env, auth, record, meta);
    if (!result.ok) return json({ ok: false as const, formError: result.message }, { status: 409 });
    return redirect(here);
  }
  if (record.status !== "ready") return json({ ok: false as const, formError: "This import has already started." }, { status: 409 });
  const mapping = mappingFromForm(form, importHeader(record).length);
  if (!mapping.ok) return json({ ok: false as const, formError: mapping.message }, { status: 422 });
  if (intent === "preview") {
    await saveImportSettings(context.db, record, mapping.mapping, mode ?? record.mode);
    return redirect(here);
  }
  await startImport(context.db, record, mapping.mapping, mode ?? record.mode);
  const started = await getImport(context.db, auth.firm.id, record.id);
  // The first chunk runs now, so an import is under way even before the page's script takes over.
  if (started) {
    const result = await importNextChunk(context.db, context.env, auth, started, meta);
    if (!result.ok) return json({ ok: false as const, formError: result.message }, { status: 409 });
  }
  return redirect(here);
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Summary = LoaderData["record"];

const nf = (n: number) => n.toLocaleString("en-US");

export default function ImportPage() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const { record } = data;
  return (
    <>
      <p className="small">
        <AppLink to="/app/contacts/import">← Import contacts</AppLink>
      </p>
      <h1>{`Import ${record.fileName}`}</h1>
      <FormError message={result && !result.ok ? result.formError : null} />
      {record.status === "ready" ? <MappingStep data={data} /> : null}
      {record.status === "running" ? <Progress record={record} /> : null}
      {record.status === "completed" || record.status === "cancelled" ? <Outcome record={record} /> : null}
    </>
  );
}

function MappingStep({ data }: { data: LoaderData }) {
  const { record, header, preview, previewError } = data;
  const mapping = data.mapping as Partial<Record<ImportField, number>>;
  if (previewError || !preview) return <FormError message={previewError ?? "The file could not be read."} />;
  const fieldOf = (column: number) => IMPORT_FIELDS.find((field) => mapping[field] === column) ?? "";
  const { counts } = preview;
  const willImport = record.mode === "update" ? counts.create + counts.existing : counts.create;
  return (
    <Form method="post">
      <section className="card" aria-labelledby="columns-heading">
        <h2 id="columns-heading">1. Which column is which?</h2>
        <p className="muted small">We guessed from the header row. Email and a name are needed; other columns can be left out.</p>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Column in your file</th>
                <th scope="col">Import as</th>
              </tr>
            </thead>
            <tbody>
              {header.map((name, i) => (
                <tr key={i}>
                  <td>
                    <label htmlFor={`column-${i}`}>{name}</label>
                  </td>
                  <td>
                    <select id={`column-${i}`} name={`column-${i}`} defaultValue={fieldOf(i)}>
                      <option value="">Don’t import</option>
                      {IMPORT_FIELDS.map((field) => (
                        <option key={field} value={field}>
                          {FIELD_LABELS[field]}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <fieldset>
          <legend>When a row’s email already belongs to a contact</legend>
          <label className="choice">
            <input type="radio" name="mode" value="skip" defaultChecked={record.mode === "skip"} /> Skip the row (keep the contact as it is)
          </label>
          <label className="choice">
            <input type="radio" name="mode" value="update" defaultChecked={record.mode === "update"} /> Update the contact from the row (empty cells keep
            what the contact has)
          </label>
        </fieldset>
        <button type="submit" name="intent" value="preview" className="secondary">
          Update preview
        </button>
      </section>

      <section className="card" aria-labelledby="preview-heading">
        <h2 id="preview-heading">2. Check the rows</h2>
        <ul aria-label="Summary">
          <li>{`${nf(counts.total)} rows in the file`}</li>
          <li>{`${nf(counts.create)} new contacts`}</li>
          <li>{`${nf(counts.existing)} already contacts (${record.mode === "update" ? "will be updated" : "will be skipped"})`}</li>
          <li>{`${nf(counts.duplicates)} repeat an email from an earlier row (skipped)`}</li>
          <li>{`${nf(counts.failed)} cannot be imported (listed below)`}</li>
        </ul>
        <FormError message={preview.mappingProblem} />
        <PreviewTable caption={`The first ${preview.rows.length} rows as they will be imported`} rows={preview.rows} />
        {preview.problems.length > 0 ? (
          <PreviewTable
            caption={
              preview.problems.length < counts.failed + counts.duplicates + counts.existing
                ? `Rows with a problem (the first ${preview.problems.length}; the report after the import lists every one)`
                : "Rows with a problem"
            }
            rows={preview.problems}
          />
        ) : (
          <p>No problems found.</p>
        )}
      </section>

      <section className="card" aria-labelledby="import-heading">
        <h2 id="import-heading">3. Import</h2>
        <p>Choices changed above? Select “Update preview” first to see their effect.</p>
        <div className="row">
          <button type="submit" name="intent" value="start" disabled={willImport === 0}>
            {`Import ${nf(willImport)} contacts`}
          </button>
          <button type="submit" name="intent" value="cancel" className="secondary" formNoValidate>
            Discard this file
          </button>
        </div>
      </section>
    </Form>
  );
}

function PreviewTable({ caption, rows }: { caption: string; rows: Array<{ rowNumber: number; status: string; tone: string; values: Record<string, string | null> }> }) {
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Phone</th>
            <th scope="col">Company</th>
            <th scope="col">Notes</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.rowNumber}>
              <td>{row.rowNumber}</td>
              <td>{row.values.name}</td>
              <td>{row.values.email}</td>
              <td>{row.values.phone}</td>
              <td>{row.values.company}</td>
              <td className="pre-line">{row.values.notes}</td>
              <td>
                <span className={row.tone === "ok" ? "badge badge-ok" : row.tone === "warn" ? "badge badge-warn" : "badge"}>{row.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type ChunkAnswer = { ok: true; status: string; nextRow: number } | { ok: false; formError: string };

function Progress({ record }: { record: Summary }) {
  const fetcher = useFetcher<ChunkAnswer>();
  const [scripted, setScripted] = useState(false);
  useEffect(() => setScripted(true), []);
  const failed = fetcher.data && !fetcher.data.ok ? fetcher.data.formError : null;
  // Each answer revalidates this page's data, so record.nextRow moves on and the next chunk is asked for.
  useEffect(() => {
    if (!scripted || failed || fetcher.state !== "idle") return;
    fetcher.submit({ intent: "chunk" }, { method: "post", action: `/app/contacts/import/${record.id}/chunk` });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scripted, failed, fetcher.state, record.nextRow]);
  return (
    <section className="card" aria-labelledby="progress-heading">
      <h2 id="progress-heading">Importing</h2>
      <label htmlFor="import-progress">{`${nf(record.nextRow)} of ${nf(record.totalRows)} rows`}</label>
      <progress id="import-progress" value={record.nextRow} max={record.totalRows} />
      <p aria-live="polite" className="small">
        {`So far: ${nf(record.counts.created)} created, ${nf(record.counts.updated)} updated, ${nf(record.counts.skipped)} skipped, ${nf(record.counts.failed)} failed.`}
      </p>
      <FormError message={failed} />
      {!scripted || failed ? (
        <Form method="post">
          <p className="small">The import runs in steps of {CHUNK_ROWS} rows. It can be continued at any time; no row is imported twice.</p>
          <button type="submit" name="intent" value="chunk">
            Continue
          </button>
        </Form>
      ) : (
        <p className="small muted">Keep this page open until the import finishes. If it is closed, open it again to continue where it stopped.</p>
      )}
      <Form method="post">
        <button type="submit" name="intent" value="cancel" className="secondary">
          Stop the import
        </button>
      </Form>
    </section>
  );
}

/** Why a stopped import stopped, as recorded when it was stopped. */
function stoppedBecause(record: Summary): string | null {
  if (record.status !== "cancelled") return null;
  if (record.stopReason === "abandoned") return ` It was left unfinished for ${ABANDONED_IMPORT_DAYS} days, so it was stopped and the file was deleted.`;
  if (record.stoppedBy && record.completedAt !== null) return ` ${record.stoppedBy} stopped it on ${formatDateTime(record.completedAt)}.`;
  return null;
}

function Outcome({ record }: { record: Summary }) {
  const { counts } = record;
  const problems = counts.skipped + counts.failed;
  return (
    <section className="card" aria-labelledby="outcome-heading">
      <h2 id="outcome-heading">{record.status === "completed" ? "Import complete" : "Import stopped"}</h2>
      <p role="status">
        {record.status === "completed"
          ? `All ${nf(record.totalRows)} rows were read on ${formatDateTime(record.completedAt)}.`
          : `Stopped after ${nf(record.nextRow)} of ${nf(record.totalRows)} rows; the rows before were imported.`}
        {stoppedBecause(record)}
      </p>
      <dl className="details">
        <dt>Created</dt>
        <dd>{nf(counts.created)}</dd>
        <dt>Updated</dt>
        <dd>{nf(counts.updated)}</dd>
        <dt>Skipped</dt>
        <dd>{nf(counts.skipped)}</dd>
        <dt>Failed</dt>
        <dd>{nf(counts.failed)}</dd>
      </dl>
      {problems > 0 ? (
        <p>
          <a href={`/app/contacts/import/${record.id}/report.csv`} download>
            Download the report of skipped and failed rows (CSV)
          </a>
        </p>
      ) : null}
      <p>
        <AppLink to="/app/contacts">Go to contacts</AppLink>
      </p>
    </section>
  );
}
