import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { AdoptionSummary } from "~/components/adoption";
import { NextPage } from "~/components/pager";
import { CONTACT_FILTERS, CONTACT_SORTS, DEFAULT_DIRECTION, FILTER_LABELS, SORT_LABELS, type ContactSort, type SortDirection } from "~/lib/contact-filters";
import { formatDate } from "~/lib/format";
import { listContactsWithAdoption } from "~/server/staff/contacts.server";
import { staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Contacts · Client Portal" }];

const query = z.object({
  show: z.enum(["deleted"]).optional().catch(undefined),
  q: z.string().max(100).optional().catch(undefined),
  filter: z.enum(CONTACT_FILTERS).optional().catch(undefined),
  sort: z.enum(CONTACT_SORTS).optional().catch(undefined),
  dir: z.enum(["asc", "desc"]).optional().catch(undefined),
  after: z.string().max(400).optional().catch(undefined),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const deleted = params.show === "deleted";
  const sort = params.sort ?? "name";
  const dir = params.dir ?? DEFAULT_DIRECTION[sort];
  const options = { search: params.q, filter: params.filter, sort, dir, after: params.after, deleted };
  // The page's rows come in the session's round trip (issue 14).
  const { data: page } = await staffPage(request, context, (_firm, _staff, sessionId) => listContactsWithAdoption(context.read, { sessionId }, options));
  return { ...page, q: params.q ?? "", filter: params.filter ?? "all", sort, dir, deleted };
}

function SortHeader({ column, sort, dir, base }: { column: ContactSort; sort: ContactSort; dir: SortDirection; base: Record<string, string> }) {
  const active = column === sort;
  const nextDir: SortDirection = active ? (dir === "asc" ? "desc" : "asc") : DEFAULT_DIRECTION[column];
  const params = new URLSearchParams({ ...base, sort: column, dir: nextDir });
  return (
    <th scope="col" aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : undefined}>
      <AppLink to={`?${params.toString()}`}>
        {SORT_LABELS[column]}
        {active ? (dir === "asc" ? " ▲" : " ▼") : ""}
        <span className="visually-hidden">{active ? ", sorted" : ", sort"}</span>
      </AppLink>
    </th>
  );
}

export default function Contacts() {
  const { rows, next, q, filter, sort, dir, deleted, adoption } = useLoaderData<typeof loader>();
  const base: Record<string, string> = { q, filter, ...(deleted ? { show: "deleted" } : {}) };
  const nextParams = new URLSearchParams({ ...base, sort, dir, ...(next ? { after: next } : {}) });
  return (
    <>
      <h1>{deleted ? "Deleted contacts" : "Contacts"}</h1>
      <p className="row small">
        {deleted ? <AppLink to="/app/contacts">← All contacts</AppLink> : <AppLink to="/app/contacts?show=deleted">Deleted contacts</AppLink>}
        {deleted ? null : (
          <>
            <AppLink className="button" to="/app/contacts/new">
              Add contact
            </AppLink>
            <AppLink className="button secondary" to="/app/contacts/import">
              Import contacts
            </AppLink>
          </>
        )}
      </p>
      {deleted ? null : <AdoptionSummary adoption={adoption} />}
      <Form method="get" className="row" role="search">
        {deleted ? <input type="hidden" name="show" value="deleted" /> : null}
        <input type="hidden" name="sort" value={sort} />
        <input type="hidden" name="dir" value={dir} />
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
        <table id="contacts-table">
          <caption className="muted small">
            {rows.length === 0 ? "No contacts match." : `Showing ${rows.length} contacts`}
          </caption>
          <thead>
            <tr>
              {deleted ? null : (
                <th scope="col" className="check-cell">
                  <span className="visually-hidden">Select</span>
                </th>
              )}
              <SortHeader column="name" sort={sort} dir={dir} base={base} />
              <th scope="col">Email</th>
              <SortHeader column="portal_status" sort={sort} dir={dir} base={base} />
              <th scope="col">2FA</th>
              <SortHeader column="last_sign_in" sort={sort} dir={dir} base={base} />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                {deleted ? null : (
                  <td className="check-cell">
                    {/* Outside the bulk form in the markup, inside it by the form attribute: works without JavaScript. */}
                    <input type="checkbox" name="contact" value={row.id} form="bulk-invite" id={`select-${row.id}`} aria-label={`Select ${row.name}`} />
                  </td>
                )}
                <td>
                  <AppLink to={`/app/contacts/${row.id}`}>{row.name}</AppLink>
                  {row.company ? <div className="small muted">{row.company}</div> : null}
                </td>
                <td>{row.email}</td>
                <td>
                  {row.portalStatus === "account" ? (
                    <span className="badge badge-ok">Has account</span>
                  ) : row.portalStatus === "invited" ? (
                    <span className="badge badge-warn">{`Invited ${formatDate(row.invitedAt)}`}</span>
                  ) : (
                    <span className="badge">No account</span>
                  )}
                </td>
                <td>{row.accountEmail ? (row.totpEnabledAt ? "On" : "Off") : "—"}</td>
                <td>{formatDate(row.lastSignInAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {deleted ? null : (
        <form id="bulk-invite" method="get" action="/app/contacts/invite" className="row card">
          <span className="small muted">Portal invites: each is a 14-day link to the portal, where the client can create a login.</span>
          <button type="submit" name="scope" value="selected">
            Send portal invite
          </button>
          <button type="submit" name="scope" value="without_account" className="secondary">
            Invite everyone without a portal account
          </button>
        </form>
      )}
      <NextPage params={next ? nextParams : null} />
    </>
  );
}
