import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { FormError, messageOf, Notice } from "~/components/form";
import { ItemForms, type ItemResult } from "~/components/request-items";
import { idParam } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { portalPage } from "~/server/portal/portal-auth.server";
import { ACCEPT_ATTRIBUTE, readMultipartUpload, storeUpload, TYPES_SENTENCE } from "~/server/requests/files.server";
import { getContactRequestWithFiles } from "~/server/requests/portal-requests.server";
import { MAX_ANSWER_LENGTH, saveAnswer, tickTask, type ItemChange } from "~/server/requests/items.server";
import { refuse } from "~/server/result";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.request.title ?? "Request"} · Client portal` }];

async function loadRequest(request: Request, context: LoaderFunctionArgs["context"], params: LoaderFunctionArgs["params"]) {
  const id = idParam.safeParse(params.requestId);
  // The request, its items and files come in the session's round trip (issue 14).
  const { auth, data: found } = await portalPage(request, context, params.firmSlug ?? "", async (session) =>
    id.success ? getContactRequestWithFiles(context.db, session.firm, session.contact, id.data, context.read) : null,
  );
  if (!found) throw new Response("Request not found", { status: 404 });
  return { auth, found };
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { auth, found } = await loadRequest(request, context, params);
  const { files } = found;
  const r = found.request;
  return {
    request: { id: r.id, title: r.title, description: r.description, dueDate: r.dueDate, status: r.status, completedAt: r.completedAt },
    items: found.items.map((item) => ({
      id: item.id,
      kind: item.kind,
      label: item.label,
      answer: item.answer,
      completedAt: item.completedAt,
      files: files.filter((f) => f.itemId === item.id).map((f) => ({ id: f.id, fileName: f.fileName, size: f.size })),
    })),
    slug: auth.firm.slug,
    accept: ACCEPT_ATTRIBUTE,
    typesSentence: TYPES_SENTENCE,
  };
}

const itemSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("tick"), itemId: idParam }),
  z.object({
    intent: z.literal("answer"),
    itemId: idParam,
    answer: z
      .string({ required_error: "Write an answer before saving.", invalid_type_error: "Write an answer before saving." })
      .trim()
      .min(1, "Write an answer before saving.")
      .max(MAX_ANSWER_LENGTH, "Answers are at most 5,000 characters."),
  }),
]);

const USE_THE_BUTTONS = "Use the buttons on this page.";

function answered(result: ItemChange, itemId: string | null, done: string) {
  if (!result.ok) return failure(result, { itemId });
  return json({
    ok: true as const,
    itemId,
    message: result.completed ? "Thank you: every item is done and your firm has been told." : done,
  });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth, found } = await loadRequest(request, context, params);
  const actor = { firm: auth.firm, contact: auth.contact, ...context.meta };
  const requestId = found.request.id;

  // Uploads have their own reader and limit (50 MB); every other form stays under readForm's 64 KB.
  if ((request.headers.get("content-type") ?? "").toLowerCase().startsWith("multipart/form-data")) {
    const upload = await readMultipartUpload(request);
    if (!upload.ok) return failure(upload, { itemId: null });
    const result = await storeUpload(context.db, context.env, { actor, requestId, itemId: upload.itemId }, upload.checked, upload.file);
    if (result.ok && result.completed) deliverSoon(context.env, context.ctx, context.db);
    return answered(result, upload.itemId, `Uploaded ${upload.checked.fileName}.`);
  }

  const form = await readForm(request);
  const parsed = validateForm(itemSchema, form, { unknownIntent: USE_THE_BUTTONS });
  if (!parsed.ok) {
    const itemId = typeof form.get("itemId") === "string" ? (form.get("itemId") as string).slice(0, 64) : null;
    // The item id comes from the page, not from the client's typing: a bad one is the page misused, like
    // an unknown intent. Otherwise the one field of the item's form says what is wrong.
    const fieldErrors = parsed.fieldErrors ?? {};
    const refusal =
      parsed.status === 400 || fieldErrors.itemId
        ? refuse(400, USE_THE_BUTTONS, fieldErrors)
        : refuse(422, Object.values(fieldErrors)[0] ?? parsed.error, fieldErrors);
    return failure(refusal, { itemId });
  }
  const data = parsed.data;
  const result =
    data.intent === "tick"
      ? await tickTask(context.db, context.env, actor, requestId, data.itemId)
      : await saveAnswer(context.db, context.env, actor, requestId, data.itemId, data.answer);
  if (result.ok && result.completed) deliverSoon(context.env, context.ctx, context.db);
  return answered(result, data.itemId, data.intent === "tick" ? "Marked as done." : "Answer saved.");
}

export default function ClientRequest() {
  const { request, items, slug, accept, typesSentence } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ItemResult | undefined;
  const done = items.filter((i) => i.completedAt).length;
  const open = request.status === "open";
  return (
    <>
      <p className="small">
        <AppLink to={`/portal/${slug}/requests`}>← Your requests</AppLink>
      </p>
      <h1>{request.title}</h1>
      <p className="muted">
        {request.dueDate ? `Due ${request.dueDate}` : "No due date"} · {done} of {items.length} done
      </p>
      {request.status === "completed" ? <Notice message="This request is complete. Thank you." /> : null}
      {/* Results of one item's form are shown beside that item; only the others here. */}
      <Notice message={result && !result.itemId ? messageOf(result) : null} />
      {result && !result.ok && !result.itemId ? <FormError message={result.formError} /> : null}
      {request.description ? <p className="pre-line">{request.description}</p> : null}
      <ol className="items">
        {items.map((item) => (
          <li key={item.id} className="card item">
            <ItemForms
              item={item}
              open={open}
              base={`/portal/${slug}/requests/${request.id}`}
              accept={accept}
              typesSentence={typesSentence}
              result={result && result.itemId === item.id ? result : undefined}
            />
          </li>
        ))}
      </ol>
    </>
  );
}
