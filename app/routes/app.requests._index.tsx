import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { STATUS_LABELS } from "~/lib/requests";
import { idParam } from "~/server/fields";
import { contactOptions, listFirmRequests } from "~/server/requests/staff-requests.server";
import { staffPage } from "~/server/staff/staff-auth.server";
import { REQUEST_STATUSES } from "../../db/schema";
import { NextPage } from "~/components/pager";

export const meta: MetaFunction = () => [{ title: "Requests · Client Portal" }];

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

// Filters come from the URL: anything malformed is ignored rather than refused.
const query = z.object({
  status: z.enum(REQUEST_STATUSES).optional().catch(undefined),
  contact: idParam.optional().catch(undefined),
  dueFrom: isoDate.optional().catch(undefined),
  dueTo: isoDate.optional().catch(undefined),
  after: z.string().max(200).optional().catch(undefined),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const filters = { status: params.status, contactId: params.contact, dueFrom: params.dueFrom, dueTo: params.dueTo, after: params.after };
  // The list and the contact filter come in the session's round trip (issue 14).
  const {
    data: [page, contacts],
  } = await staffPage(request, context, (firm) =>
    Promise.all([listFirmRequests(context.db, firm, filters, context.read), contactOptions(context.db, firm, context.read)]),
  );
  return {
    ...page,
    contacts: contacts.options,
    filters: { status: params.status ?? "", contact: params.contact ?? "", dueFrom: params.dueFrom ?? "", dueTo: params.dueTo ?? "" },
  };
}

export default function Requests() {
  const { rows, next, contacts, filters } = useLoaderData<typeof loader>();
  const nextParams = new URLSearchParams({ ...filters, ...(next ? { after: next } : {}) });
  return (
    <>
      <div className="row page-head">
        <h1>Requests</h1>
        <AppLink className="button" to="/app/requests/new">
          New request
        </AppLink>
      </div>
      <Form method="get" className="filters" role="search" aria-label="Filter requests">
        <div>
          <label htmlFor="status">Status</label>
          <select id="status" name="status" defaultValue={filters.status}>
            <option value="">Any status</option>
            {REQUEST_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="contact">Contact</label>
          {contacts.length > 0 ? (
            <select id="contact" name="contact" defaultValue={filters.contact}>
              <option value="">Any contact</option>
              {contacts.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          ) : (
            <input id="contact" name="contact" type="search" defaultValue={filters.contact} placeholder="Contact id" />
          )}
        </div>
        <div>
          <label htmlFor="dueFrom">Due from</label>
          <input id="dueFrom" name="dueFrom" type="date" defaultValue={filters.dueFrom} />
        </div>
        <div>
          <label htmlFor="dueTo">Due until</label>
          <input id="dueTo" name="dueTo" type="date" defaultValue={filters.dueTo} />
        </div>
        <button type="submit" className="secondary">
          Apply
        </button>
      </Form>
      <div className="table-wrap">
        <table>
          <caption className="muted small">{rows.length === 0 ? "No requests match." : `Showing ${rows.length} requests`}</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Contact</th>
              <th scope="col">Due</th>
              <th scope="col">Progress</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <td>
                  <AppLink to={`/app/requests/${row.id}`}>{row.title}</AppLink>
                </td>
                <td>
                  <AppLink to={`/app/contacts/${row.contactId}`}>{row.contactName}</AppLink>
                </td>
                <td>{row.dueDate ?? "—"}</td>
                <td>
                  {row.done} of {row.items}
                </td>
                <td>
                  <span className={row.status === "completed" ? "badge badge-ok" : "badge"}>{STATUS_LABELS[row.status]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <NextPage params={next ? nextParams : null} />
    </>
  );
}
