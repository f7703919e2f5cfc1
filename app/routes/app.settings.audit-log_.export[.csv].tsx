import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { auditQuery, listAuditEvents } from "~/server/audit.server";
import { csvResponse, toCsv } from "~/server/csv.server";
import { requireAdmin } from "~/server/staff/staff-auth.server";

const EXPORT_LIMIT = 10_000;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { firm } = await requireAdmin(request, context);
  const params = auditQuery.parse(Object.fromEntries(new URL(request.url).searchParams));
  const filter = { type: params.type || undefined, contactId: params.contact || undefined, from: params.from, to: params.to };
  const { rows } = await listAuditEvents(context.db, firm.id, filter, EXPORT_LIMIT);
  const body = toCsv(
    ["time_utc", "event", "actor_type", "actor", "contact_id", "detail", "ip", "user_agent"],
    rows.map((e) => [new Date(e.at).toISOString(), e.type, e.actorType, e.actorLabel, e.contactId, e.detail, e.ip, e.userAgent]),
  );
  return csvResponse(`audit-log-${firm.slug}.csv`, body);
}
