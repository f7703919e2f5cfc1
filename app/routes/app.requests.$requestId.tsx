import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { formatBytes, ITEM_KIND_LABELS, SCHEDULE_LABELS, STATUS_LABELS } from "~/lib/requests";
import { idParam } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { getFirmRequest } from "~/server/requests/staff-requests.server";
import { sendReminder } from "~/server/requests/sending.server";
import { staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.request.title ?? "Request"} · Client Portal` }];

const ACTIVITY_LABELS: Record<string, string> = {
  "request.sent": "Request sent",
  "request.reminder_sent": "Reminder sent",
  "request.reminder_sent_automatically": "Automatic reminder sent",
  "request.task_done": "Task ticked",
  "request.question_answered": "Question answered",
  "request.file_uploaded": "File uploaded",
  "request.completed": "Request completed",
};

async function loadRequest(request: Request, context: LoaderFunctionArgs["context"], requestId: string | undefined) {
  const id = idParam.safeParse(requestId);
  // The request comes in the session's round trip (issue 14).
  const { data: details, ...auth } = await staffPage(request, context, async (firm) =>
    id.success ? getFirmRequest(context.db, firm, id.data, context.read) : null,
  );
  if (!details) throw new Response("Request not found", { status: 404 });
  return { auth, details };
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { details } = await loadRequest(request, context, params.requestId);
  const { request: r, contact, items, files, activity } = details;
  return {
    request: r,
    contact: { id: contact.id, name: contact.name, email: contact.email },
    items: items.map((item) => ({ ...item, files: files.filter((f) => f.itemId === item.id) })),
    activity,
  };
}

const actionSchema = z.discriminatedUnion("intent", [z.object({ intent: z.literal("send-reminder") })]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { auth, details } = await loadRequest(request, context, params.requestId);
  const form = await parseForm(request, actionSchema);
  if (!form.ok) return failure(form);
  if (details.request.status !== "open" || details.contact.deletedAt) return failure(409, "Only open requests of current contacts can be reminded.");
  const sent = await sendReminder(context.db, context.env, {
    firm: auth.firm,
    contact: details.contact,
    request: details.request,
    by: { type: "staff", staff: auth.staff, ...context.meta },
  });
  if (!sent) return failure(409, "This request is no longer open.");
  deliverSoon(context.env, context.ctx, context.db);
  return json({ ok: true as const, message: `We emailed a reminder with a fresh link to ${details.contact.email}.` });
}

export default function StaffRequest() {
  const { request, contact, items, activity } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [search] = useSearchParams();
  const done = items.filter((i) => i.completedAt).length;
  return (
    <>
      <p className="small">
        <AppLink to="/app/requests">← Requests</AppLink>
      </p>
      <h1>{request.title}</h1>
      <Notice message={messageOf(result) ?? (search.get("sent") ? `Request sent to ${contact.email}.` : null)} />
      <FormError message={formErrorOf(result)} />
      <section className="card" aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        <dl className="details">
          <dt>Contact</dt>
          <dd>
            <AppLink to={`/app/contacts/${contact.id}`}>{contact.name}</AppLink> ({contact.email})
          </dd>
          <dt>Status</dt>
          <dd>
            <span className={request.status === "completed" ? "badge badge-ok" : "badge"}>{STATUS_LABELS[request.status]}</span>
            {request.completedAt ? ` on ${formatDateTime(request.completedAt)}` : null}
          </dd>
          <dt>Progress</dt>
          <dd>
            <progress max={items.length} value={done} aria-label="Items done" /> {`${done} of ${items.length} done`}
          </dd>
          <dt>Due</dt>
          <dd>{request.dueDate ?? "No due date"}</dd>
          <dt>Reminders</dt>
          <dd>
            {SCHEDULE_LABELS[request.reminderSchedule]}
            {request.lastReminderOn ? ` · last email ${request.lastReminderOn}` : null}
          </dd>
        </dl>
        {request.description ? <p className="pre-line">{request.description}</p> : null}
        {request.status === "open" ? (
          <Form method="post" className="row">
            <button type="submit" name="intent" value="send-reminder">
              Send reminder
            </button>
          </Form>
        ) : null}
      </section>
      <section aria-labelledby="items-heading">
        <h2 id="items-heading">Checklist</h2>
        <ol className="items">
          {items.map((item) => (
            <li key={item.id} className="card item">
              <p className="item-head">
                <span className="badge">{ITEM_KIND_LABELS[item.kind]}</span>{" "}
                <span className={item.completedAt ? "badge badge-ok" : "badge badge-warn"}>{item.completedAt ? "Done" : "To do"}</span>
              </p>
              <p className="item-label">{item.label}</p>
              {item.answer ? (
                <blockquote className="answer pre-line" aria-label="Answer">
                  {item.answer}
                </blockquote>
              ) : null}
              {item.files.length > 0 ? (
                <ul className="files">
                  {item.files.map((f) => (
                    <li key={f.id}>
                      <a href={`/app/requests/${request.id}/files/${f.id}`} download>
                        {f.fileName}
                      </a>{" "}
                      <span className="small muted">
                        {formatBytes(f.size)} · {formatDateTime(f.uploadedAt)}
                      </span>
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ol>
      </section>
      <section className="card" aria-labelledby="activity-heading">
        <h2 id="activity-heading">Activity</h2>
        {activity.length === 0 ? <p className="muted">Nothing yet.</p> : null}
        <ul className="activity">
          {activity.map((a) => (
            <li key={a.id}>
              <span className="small muted">{formatDateTime(a.at)}</span> {ACTIVITY_LABELS[a.type] ?? a.type}
              {a.actorLabel ? ` · ${a.actorLabel}` : null}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
