import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { formatDateTime } from "~/lib/format";
import { auditEventTypes, auditQuery, listAuditEvents } from "~/server/audit.server";
import { requireAdmin, staffPage } from "~/server/staff/staff-auth.server";
import { NextPage } from "~/components/pager";

export const meta: MetaFunction = () => [{ title: "Audit log · Client Portal" }];


export async function loader({ request, context }: LoaderFunctionArgs) {
  const params = auditQuery.parse(Object.fromEntries(new URL(request.url).searchParams));
  const filter = { type: params.type || undefined, contactId: params.contact || undefined, from: params.from, to: params.to };
  // The events come in the session's round trip (issue 14); a member's are dropped by requireAdmin.
  const {
    data: [page, types],
  } = await staffPage(
    request,
    context,
    (firm) =>
      Promise.all([
        listAuditEvents(context.db, firm, { ...filter, before: params.before }, undefined, context.read),
        auditEventTypes(context.db, firm, context.read),
      ]),
    requireAdmin,
  );
  return { ...page, types, filter: { type: params.type ?? "", contact: params.contact ?? "", from: params.from ?? "", to: params.to ?? "" } };
}

export default function AuditLog() {
  const { rows, next, types, filter } = useLoaderData<typeof loader>();
  const exportParams = new URLSearchParams(filter);
  const nextParams = new URLSearchParams({ ...filter, ...(next ? { before: next } : {}) });
  return (
    <>
      <p className="small">
        Settings › <AppLink to="/app/settings/client-portal/security">Client Portal › Security and Two-Factor</AppLink> · <strong>Audit log</strong>
      </p>
      <h1>Audit log</h1>
      <Form method="get" className="row" aria-label="Filter the audit log">
        <div>
          <label htmlFor="type">Event</label>
          <select id="type" name="type" defaultValue={filter.type}>
            <option value="">All events</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="contact">Contact id</label>
          <input id="contact" name="contact" type="text" defaultValue={filter.contact} />
        </div>
        <div>
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="date" defaultValue={filter.from} />
        </div>
        <div>
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="date" defaultValue={filter.to} />
        </div>
        <button type="submit" className="secondary">
          Apply
        </button>
        <a href={`/app/settings/audit-log/export.csv?${exportParams.toString()}`} download>
          Export CSV
        </a>
      </Form>
      {/* Scrolls sideways on a phone; rows may hold no link, so the region itself takes focus for the keyboard. */}
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit log events">
        <table>
          <caption>{rows.length === 0 ? "No events match." : `Showing ${rows.length} events, newest first`}</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Who</th>
              <th scope="col">Contact</th>
              <th scope="col">IP</th>
              <th scope="col">Browser</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <td>{formatDateTime(e.at)}</td>
                <td>
                  {e.type}
                  {e.detail ? <div className="small muted mono">{e.detail}</div> : null}
                </td>
                <td>{e.actorLabel}</td>
                <td>{e.contactId ? <AppLink to={`/app/contacts/${e.contactId}`}>{e.contactId}</AppLink> : "—"}</td>
                <td>{e.ip ?? "—"}</td>
                <td className="small">{e.userAgent?.slice(0, 60) ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <NextPage params={next ? nextParams : null} label="Older events" />
    </>
  );
}
