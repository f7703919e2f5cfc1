// The next chunk of an import, for the import page's script: imports up to CHUNK_ROWS rows and answers
// JSON with where the import stands. Safe to repeat: a chunk already imported is not imported again.
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { getImport } from "~/server/staff/contact-import.server";
import { importNextChunk } from "~/server/staff/contact-import-run.server";
import { idParam } from "~/server/fields";
import { requireStaff } from "~/server/staff/staff-auth.server";

export async function loader() {
  throw new Response("Not found", { status: 404 });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  const id = idParam.safeParse(params.importId);
  const record = id.success ? await getImport(context.db, auth.firm.id, id.data) : null;
  if (!record) return json({ ok: false as const, formError: "Import not found." }, { status: 404 });
  const result = await importNextChunk(context.db, context.env, auth, record, context.meta);
  if (!result.ok) return json({ ok: false as const, formError: result.message }, { status: 409 });
  const after = result.record;
  return json({
    ok: true as const,
    status: after.status,
    nextRow: after.nextRow,
    totalRows: after.totalRows,
    counts: { created: after.createdCount, updated: after.updatedCount, skipped: after.skippedCount, failed: after.failedCount },
  });
}
