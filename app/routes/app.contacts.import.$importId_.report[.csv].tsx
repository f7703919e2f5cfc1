// The report of an import: every skipped or failed row with its reason and its values, as CSV.
// Cells go through toCsv, so a formula-looking cell from the uploaded file is escaped on the way out.
import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { getImport } from "~/server/staff/contact-import.server";
import { importProblems } from "~/server/staff/contact-import-run.server";
import { csvResponse, toCsv } from "~/server/csv.server";
import { idParam } from "~/server/fields";
import { requireStaff } from "~/server/staff/staff-auth.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { firm } = await requireStaff(request, context);
  const id = idParam.safeParse(params.importId);
  const record = id.success ? await getImport(context.db, firm.id, id.data) : null;
  if (!record) throw new Response("Import not found", { status: 404 });
  const rows = await importProblems(context.db, firm.id, record.id);
  const body = toCsv(
    ["row", "result", "reason", "name", "email", "phone", "company", "notes"],
    rows.map((r) => [r.rowNumber, r.outcome, r.reason, r.name, r.email, r.phone, r.company, r.notes]),
  );
  const base = record.fileName.replace(/\.[A-Za-z0-9]{1,5}$/, "");
  return csvResponse(`${base}-import-report.csv`, body);
}
