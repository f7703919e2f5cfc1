import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Link, useLoaderData } from "@remix-run/react";
import { idParam } from "~/server/fields";
import { requirePortalAccess } from "~/server/portal-auth.server";
import { getContactRequest } from "~/server/requests.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.request.title ?? "Request"} · Client portal` }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { auth, contactId } = await requirePortalAccess(request, context, params.firmSlug ?? "");
  const id = idParam.safeParse(params.requestId);
  const found = id.success ? await getContactRequest(context.db, auth.firm.id, contactId, id.data) : null;
  if (!found) throw new Response("Request not found", { status: 404 });
  return json({ request: found.request, items: found.items, slug: auth.firm.slug });
}

const KIND_LABELS = { task: "Task", question: "Question", file: "File to upload" } as const;

export default function ClientRequest() {
  const { request, items, slug } = useLoaderData<typeof loader>();
  return (
    <>
      <p className="small">
        <Link to={`/portal/${slug}/requests`}>← Your requests</Link>
      </p>
      <h1>{request.title}</h1>
      <p className="muted">{request.dueDate ? `Due ${request.dueDate}` : "No due date"}</p>
      {request.description ? <p>{request.description}</p> : null}
      <ol className="items">
        {items.map((item) => (
          <li key={item.id} className="card">
            <span className="badge">{KIND_LABELS[item.kind]}</span> {item.label}
            <p className="small muted">{item.completedAt ? "Done" : "To do"}</p>
            {item.answer ? <p>{item.answer}</p> : null}
          </li>
        ))}
      </ol>
    </>
  );
}
