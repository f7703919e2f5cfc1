import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { portalPage } from "~/server/portal/portal-auth.server";
import { groupByDueDate, listSessionContactRequests, type RequestSummary } from "~/server/requests/portal-requests.server";

export const meta: MetaFunction = () => [{ title: "Your requests · Client portal" }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  // The list comes in the session's round trip (issue 14).
  const { auth, data: list } = await portalPage(request, context, params.firmSlug ?? "", (session) =>
    listSessionContactRequests(context.read, session.id),
  );
  return { name: auth.contact.name, groups: groupByDueDate(list, new Date().toISOString().slice(0, 10)), slug: auth.firm.slug };
}

const GROUPS = [
  ["overdue", "Overdue"],
  ["thisWeek", "Due this week"],
  ["later", "Due later"],
  ["noDate", "No due date"],
  ["completed", "Completed"],
] as const;

function RequestList({ items, slug }: { items: RequestSummary[]; slug: string }) {
  return (
    <ul className="request-list">
      {items.map((r) => (
        <li key={r.id} className="card">
          <AppLink to={`/portal/${slug}/requests/${r.id}`}>{r.title}</AppLink>
          <p className="small muted">
            {r.dueDate ? `Due ${r.dueDate}` : "No due date"} · {r.done} of {r.items} done
          </p>
        </li>
      ))}
    </ul>
  );
}

export default function ClientRequests() {
  const { name, groups, slug } = useLoaderData<typeof loader>();
  const open = groups.overdue.length + groups.thisWeek.length + groups.later.length + groups.noDate.length;
  return (
    <>
      <h1>Your requests</h1>
      <p>
        Hello {name}. You have {open} open {open === 1 ? "request" : "requests"}.
      </p>
      {GROUPS.map(([key, label]) =>
        groups[key].length > 0 ? (
          <section key={key} aria-labelledby={`group-${key}`}>
            <h2 id={`group-${key}`}>{label}</h2>
            <RequestList items={groups[key]} slug={slug} />
          </section>
        ) : null,
      )}
    </>
  );
}
