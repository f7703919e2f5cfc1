// The streaming upload endpoint: the raw file is the request body (name in X-File-Name), checked
// before a byte is read and streamed to R2. Answers JSON for the page's script.
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { idParam } from "~/server/fields";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { requirePortalAccess } from "~/server/portal/portal-auth.server";
import { readRawUpload, storeUpload } from "~/server/requests/files.server";
import { refuse, type Refusal } from "~/server/result";
import { getContactRequest } from "~/server/requests/portal-requests.server";

/** The page's script shows `message` whether the upload was taken or not (components/request-items.tsx). */
function refused(refusal: Refusal) {
  return json({ ok: false, message: refusal.error }, { status: refusal.status });
}

export async function loader() {
  throw new Response("Not found", { status: 404 });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth, contactId } = await requirePortalAccess(request, context, params.firmSlug ?? "");
  const requestId = idParam.safeParse(params.requestId);
  const itemId = idParam.safeParse(params.itemId);
  const found = requestId.success ? await getContactRequest(context.db, auth.firm.id, contactId, requestId.data) : null;
  if (!found || !itemId.success) return refused(refuse(404, "Request not found."));
  const upload = readRawUpload(request);
  if (!upload.ok) return refused(upload);
  const actor = { firm: auth.firm, contact: auth.contact, ...context.meta };
  const result = await storeUpload(context.db, context.env, { actor, requestId: found.request.id, itemId: itemId.data }, upload.checked, upload.body);
  if (!result.ok) return refused(result);
  if (result.completed) deliverSoon(context.env, context.ctx, context.db);
  return json({
    ok: true,
    completed: result.completed,
    message: result.completed ? "Thank you: every item is done and your firm has been told." : `Uploaded ${upload.checked.fileName}.`,
  });
}
