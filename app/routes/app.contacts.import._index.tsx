// CSV import, step 1: upload a file (and the firm's recent imports). ADR 013.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { useState } from "react";
import { FormError } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { createImport, listImports } from "~/server/staff/contact-import.server";
import { ABANDONED_IMPORT_DAYS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from "~/lib/contact-import";
import { requireStaff, staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Import contacts · Client Portal" }];

/** Room for the multipart envelope (boundary, part headers) around the file. */
const ENVELOPE_BYTES = 16 * 1024;
const MAX_MB = MAX_IMPORT_BYTES / 1024 / 1024;

export async function loader({ request, context }: LoaderFunctionArgs) {
  // The imports come in the session's round trip (issue 14).
  const { data: imports } = await staffPage(request, context, (firm) => listImports(context.db, firm, context.read));
  return {
    imports: imports.map((i) => ({
      id: i.id,
      fileName: i.fileName,
      status: i.status,
      createdAt: i.createdAt,
      createdBy: i.createdByLabel,
      totalRows: i.totalRows,
      created: i.createdCount,
      updated: i.updatedCount,
      skipped: i.skippedCount,
      failed: i.failedCount,
    })),
  };
}

function refuse(status: number, formError: string) {
  return json({ ok: false as const, formError }, { status });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  // formData() holds the whole body in memory, so the declared size is checked before a byte is read.
  const declared = request.headers.get("content-length");
  if (declared === null || !/^\d{1,15}$/.test(declared)) return refuse(411, "The upload must declare its size. Please try again.");
  if (Number(declared) > MAX_IMPORT_BYTES + ENVELOPE_BYTES) return refuse(413, `That file is larger than ${MAX_MB} MB. Split it into smaller files.`);
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return refuse(400, "The upload could not be read. Choose the file again.");
  }
  const file = form.get("file");
  if (!(file instanceof File) || (file.size === 0 && file.name === "")) return refuse(422, "Choose a CSV file to upload.");
  if (file.size > MAX_IMPORT_BYTES) return refuse(413, `That file is larger than ${MAX_MB} MB. Split it into smaller files.`);
  const result = await createImport(context.db, context.env, auth, { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  if (!result.ok) return refuse(result.status, result.message);
  return redirect(`/app/contacts/import/${result.importId}`);
}

const STATUS_LABELS: Record<string, string> = { ready: "Waiting for column choices", running: "In progress", completed: "Completed", cancelled: "Cancelled" };

export default function ImportContacts() {
  const { imports } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const [tooLarge, setTooLarge] = useState<string | null>(null);
  const busy = navigation.state === "submitting";
  return (
    <>
      <p className="small">
        <AppLink to="/app/contacts">← Contacts</AppLink>
      </p>
      <h1>Import contacts</h1>
      <FormError message={tooLarge ?? result?.formError} />
      <section className="card" aria-labelledby="upload-heading">
        <h2 id="upload-heading">Upload a CSV file</h2>
        <p>
          One contact per row, with a header row naming the columns (for example Name, Email, Phone, Company, Notes). Excel, Numbers and
          Google Sheets exports work: save as “CSV UTF-8”. Up to {MAX_IMPORT_ROWS.toLocaleString("en-US")} rows and {MAX_MB} MB per file.
        </p>
        <p className="muted small">
          Next you choose which column is which and see every row’s problems. Nothing is imported until you confirm. The file is deleted
          when the import finishes or is cancelled, and after {ABANDONED_IMPORT_DAYS} days if it is left unfinished.
        </p>
        <Form
          method="post"
          encType="multipart/form-data"
          onSubmit={(event) => {
            // Saves sending a file the server will refuse unread; the server checks the size again.
            const input = event.currentTarget.elements.namedItem("file") as HTMLInputElement | null;
            const file = input?.files?.[0];
            if (file && file.size > MAX_IMPORT_BYTES) {
              event.preventDefault();
              setTooLarge(`That file is larger than ${MAX_MB} MB. Split it into smaller files.`);
            } else setTooLarge(null);
          }}
        >
          <div className="field">
            <label htmlFor="file">CSV file</label>
            <input id="file" name="file" type="file" accept=".csv,.txt,text/csv" required />
          </div>
          <button type="submit" disabled={busy}>
            {busy ? "Uploading…" : "Upload"}
          </button>
        </Form>
      </section>
      {imports.length > 0 ? (
        <section className="card" aria-labelledby="recent-heading">
          <h2 id="recent-heading">Recent imports</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Started</th>
                  <th scope="col">By</th>
                  <th scope="col">Status</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Created</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Skipped</th>
                  <th scope="col">Failed</th>
                </tr>
              </thead>
              <tbody>
                {imports.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <AppLink to={`/app/contacts/import/${i.id}`}>{i.fileName}</AppLink>
                    </td>
                    <td>{formatDateTime(i.createdAt)}</td>
                    <td>{i.createdBy}</td>
                    <td>{STATUS_LABELS[i.status] ?? i.status}</td>
                    <td>{i.totalRows}</td>
                    <td>{i.created}</td>
                    <td>{i.updated}</td>
                    <td>{i.skipped}</td>
                    <td>{i.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </>
  );
}
