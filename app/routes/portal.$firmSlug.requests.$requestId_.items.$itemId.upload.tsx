// The streaming upload endpoint: the raw file is the request body (name in X-File-Name), checked
// before a byte is read and streamed to R2. Answers JSON for the page's script.
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { idParam } from "~/server/fields";
import { deliverSoon } from "~/server/outbox.server";
import { requirePortalAccess } from "~/server/portal-auth.server";
import { readRawUpload, storeUpload } from "~/server/request-files.server";
import { getContactRequest } from "~/server/requests.server";

export async function loader() {
  throw new Response("Not found", { status: 404 });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth, contactId } = await requirePortalAccess(request, context, params.firmSlug ?? "");
  const requestId = idParam.safeParse(params.requestId);
  const itemId = idParam.safeParse(params.itemId);
  const found = requestId.success ? await getContactRequest(context.db, auth.firm.id, contactId, requestId.data) : null;
  if (!found || !itemId.success) return json({ ok: false, message: "Request not found." }, { status: 404 });
  const upload = readRawUpload(request);
  if (!upload.ok) return json({ ok: false, message: upload.message }, { status: upload.status });
  const actor = { firm: auth.firm, contact: auth.contact, ip: context.ip, userAgent: context.userAgent };
  const result = await storeUpload(context.db, context.env, { actor, requestId: found.request.id, itemId: itemId.data }, upload.checked, upload.body);
  if (!result.ok) return json({ ok: false, message: result.message }, { status: result.status });
  if (result.completed) deliverSoon(context.env, context.ctx, context.db);
  return json({
    ok: true,
    completed: result.completed,
    message: result.completed ? "Thank you: every item is done and your firm has been told." : `Uploaded ${upload.checked.fileName}.`,
  });
}
