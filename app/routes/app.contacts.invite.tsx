// Bulk "Send portal invite": review (GET, from the list's checkboxes or "everyone without a portal
// account"), confirm (POST), then a progress page while the run is sent in chunks. Without
// JavaScript every step is a plain form; with it, the progress page continues by itself.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation, useSubmit } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { useEffect, useRef } from "react";
import { z } from "zod";
import { formErrorOf, FormError } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { idParam } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { continueInviteRun, getInviteRun, MAX_SELECTED, reviewInvites, startInviteRun, type InviteSelection } from "~/server/staff/invites.server";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { refuse, type Result } from "~/server/result";
import { requireStaff, staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Send portal invite · Client Portal" }];

const PATH = "/app/contacts/invite";

/** The selection from the list's form (query string) or the confirmation form (body). */
function parseSelection(scope: unknown, ids: unknown[]): Result<{ selection: InviteSelection }> {
  if (scope === "without_account") return { ok: true, selection: { scope: "without_account" } };
  if (scope !== "selected") return refuse(400, "Choose the contacts to invite on the contacts list.");
  const contactIds = [...new Set(ids.filter((id): id is string => typeof id === "string"))];
  if (contactIds.length === 0) return refuse(400, "Select at least one contact on the list first.");
  if (contactIds.length > MAX_SELECTED) return refuse(400, `Select at most ${MAX_SELECTED} contacts at once, or invite everyone without a portal account.`);
  if (!contactIds.every((id) => idParam.safeParse(id).success)) return refuse(400, "The selection could not be read. Select the contacts again.");
  return { ok: true, selection: { scope: "selected", contactIds } };
}

// The contact ids come from repeated `contact` fields, read with getAll: the schema names the step only.
const actionSchema = z.discriminatedUnion("intent", [z.object({ intent: z.literal("send") }), z.object({ intent: z.literal("continue") })]);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const runId = url.searchParams.get("run");
  if (runId !== null) {
    // The run comes in the session's round trip (issue 14).
    const { data: run } = await staffPage(request, context, async (firm) =>
      idParam.safeParse(runId).success ? getInviteRun(context.db, firm, runId, context.read) : null,
    );
    if (!run) throw new Response("Not found", { status: 404 });
    return {
      view: "progress" as const,
      run: { id: run.id, total: run.total, sent: run.sent, skipped: run.skipped, finishedAt: run.finishedAt, createdAt: run.createdAt },
    };
  }
  const parsed = parseSelection(url.searchParams.get("scope"), url.searchParams.getAll("contact"));
  if (!parsed.ok) {
    await requireStaff(request, context);
    return json({ view: "error" as const, error: parsed.error }, { status: 400 });
  }
  const selection = parsed.selection;
  const { data: review } = await staffPage(request, context, (firm) => reviewInvites(context.db, firm, selection, context.read));
  return { view: "review" as const, selection: parsed.selection, review };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  const form = await readForm(request);
  const step = validateForm(actionSchema, form, { unknownIntent: "Use the button on this page." });
  if (!step.ok) return failure(step);
  if (step.data.intent === "continue") {
    const runId = form.get("run");
    const run = typeof runId === "string" && idParam.safeParse(runId).success ? await getInviteRun(context.db, auth.firm.id, runId) : null;
    if (!run) throw new Response("Not found", { status: 404 });
    await continueInviteRun(context.db, context.env, auth.firm, run.id);
    deliverSoon(context.env, context.ctx, context.db);
    return redirect(`${PATH}?run=${run.id}`, { status: 303 });
  }
  const parsed = parseSelection(form.get("scope"), form.getAll("contact"));
  if (!parsed.ok) return failure(parsed);
  const run = await startInviteRun(context.db, context.env, auth, parsed.selection, context.meta);
  if (!run) return failure(409, "Nobody to invite: every selected contact already has a portal account.");
  deliverSoon(context.env, context.ctx, context.db);
  return redirect(`${PATH}?run=${run.id}`, { status: 303 });
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export default function SendInvites() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="narrow-wide">
      <p className="small">
        <AppLink to="/app/contacts">← Contacts</AppLink>
      </p>
      <h1>Send portal invite</h1>
      <FormError message={formErrorOf(result)} />
      {data.view === "error" ? <FormError message={data.error} /> : null}
      {data.view === "review" ? <Review selection={data.selection} review={data.review} /> : null}
      {data.view === "progress" ? <Progress run={data.run} /> : null}
    </div>
  );
}

function Review({ selection, review }: { selection: InviteSelection; review: { toEmail: number; withAccount: number; notFound: number } }) {
  return (
    <section className="card" aria-labelledby="review-heading">
      <h2 id="review-heading">
        {review.toEmail === 0 ? "Nobody to invite" : `${plural(review.toEmail, "contact", "contacts")} will be emailed`}
      </h2>
      <p>{`${selection.scope === "without_account" ? "Every contact without a portal account" : "The contacts you selected"} will get an email with a 14-day link to your portal, where they can create a login.`}</p>
      {review.withAccount > 0 ? <p>{`${plural(review.withAccount, "selected contact already has", "selected contacts already have")} a portal account and will not be emailed.`}</p> : null}
      {review.notFound > 0 ? <p>{`${plural(review.notFound, "selected contact was", "selected contacts were")} not found (deleted meanwhile?).`}</p> : null}
      <p className="hint">An address that was emailed 3 times in the last 10 minutes is skipped, and counted as skipped.</p>
      {review.toEmail > 0 ? (
        <Form method="post" className="row">
          <input type="hidden" name="intent" value="send" />
          <input type="hidden" name="scope" value={selection.scope} />
          {selection.scope === "selected" ? selection.contactIds.map((id) => <input key={id} type="hidden" name="contact" value={id} />) : null}
          <button type="submit">Send portal invite</button>
          <AppLink to="/app/contacts">Cancel</AppLink>
        </Form>
      ) : (
        <p>
          <AppLink to="/app/contacts">Back to contacts</AppLink>
        </p>
      )}
    </section>
  );
}

function Progress({ run }: { run: { id: string; total: number; sent: number; skipped: number; finishedAt: number | null; createdAt: number } }) {
  const submit = useSubmit();
  const navigation = useNavigation();
  const form = useRef<HTMLFormElement>(null);
  const done = run.sent + run.skipped;
  // With JavaScript the page continues the run by itself; without, the button does, and so does the cron.
  useEffect(() => {
    if (run.finishedAt !== null || !form.current) return;
    const timer = setTimeout(() => form.current && submit(form.current), 300);
    return () => clearTimeout(timer);
  }, [run.finishedAt, run.sent, run.skipped, submit]);
  return (
    <section className="card" aria-labelledby="progress-heading">
      <h2 id="progress-heading">{run.finishedAt !== null ? "Invites sent" : "Sending invites…"}</h2>
      <label htmlFor="invite-progress">
        {`${done} of ${run.total} handled: ${plural(run.sent, "invite", "invites")} queued for sending, ${run.skipped} skipped`}
      </label>
      <progress id="invite-progress" max={Math.max(run.total, 1)} value={Math.min(done, run.total)} />
      <p className="small muted">Started {formatDateTime(run.createdAt)}.</p>
      {run.finishedAt === null ? (
        <Form method="post" ref={form}>
          <input type="hidden" name="intent" value="continue" />
          <input type="hidden" name="run" value={run.id} />
          <button type="submit" className="secondary" disabled={navigation.state !== "idle"}>
            Continue sending
          </button>
        </Form>
      ) : (
        <p>
          <AppLink to="/app/contacts?sort=portal_status">Back to contacts</AppLink>
        </p>
      )}
    </section>
  );
}
