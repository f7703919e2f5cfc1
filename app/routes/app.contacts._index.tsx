import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { formatDate } from "~/lib/format";
import { CONTACT_FILTERS, FILTER_LABELS } from "~/lib/contact-filters";
import { listContacts } from "~/server/contacts.server";
import { requireStaff } from "~/server/staff-auth.server";
import { NextPage } from "~/components/pager";

export const meta: MetaFunction = () => [{ title: "Contacts · Client Portal" }];

const query = z.object({
  show: z.enum(["deleted"]).optional().catch(undefined),
  q: z.string().max(100).optional().catch(undefined),
  filter: z.enum(CONTACT_FILTERS).optional().catch(undefined),
  after: z.string().max(400).optional().catch(undefined),
});


export async function loader({ request, context }: LoaderFunctionArgs) {
  const { firm } = await requireStaff(request, context);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const deleted = params.show === "deleted";
  const page = await listContacts(context.db, firm.id, { search: params.q, filter: params.filter, after: params.after, deleted });
  return json({ ...page, q: params.q ?? "", filter: params.filter ?? "all", deleted });
}

export default function Contacts() {
  const { rows, next, q, filter, deleted } = useLoaderData<typeof loader>();
  const nextParams = new URLSearchParams({ q, filter, ...(deleted ? { show: "deleted" } : {}), ...(next ? { after: next } : {}) });
  return (
    <>
      <h1>{deleted ? "Deleted contacts" : "Contacts"}</h1>
      <p className="small">
        {deleted ? <Link to="/app/contacts">← All contacts</Link> : <Link to="/app/contacts?show=deleted">Deleted contacts</Link>}
      </p>
      <Form method="get" className="row" role="search">
        {deleted ? <input type="hidden" name="show" value="deleted" /> : null}
        <div>
          <label htmlFor="q">Search</label>
          <input id="q" name="q" type="search" defaultValue={q} placeholder="Name or email" />
        </div>
        <div>
          <label htmlFor="filter">Portal access</label>
          <select id="filter" name="filter" defaultValue={filter}>
            {CONTACT_FILTERS.map((value) => (
              <option key={value} value={value}>
                {FILTER_LABELS[value]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="secondary">
          Apply
        </button>
        <a href={`/app/contacts/export.csv?${new URLSearchParams({ q, filter }).toString()}`} download>
          Export CSV
        </a>
      </Form>
      <div className="table-wrap">
        <table>
          <caption className="muted small">
            {rows.length === 0 ? "No contacts match." : `Showing ${rows.length} contacts`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Portal account</th>
              <th scope="col">2FA</th>
              <th scope="col">Last sign-in</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <td>
                  <Link to={`/app/contacts/${row.id}`}>{row.name}</Link>
                </td>
                <td>{row.email}</td>
                <td>{row.accountEmail ? <span className="badge badge-ok">Yes</span> : <span className="badge">No</span>}</td>
                <td>{row.accountEmail ? (row.totpEnabledAt ? "On" : "Off") : "—"}</td>
                <td>{formatDate(row.lastSignInAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <NextPage params={next ? nextParams : null} />
    </>
  );
}
