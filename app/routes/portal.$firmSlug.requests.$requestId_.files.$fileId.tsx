// Client download of their own file: requirePortalAccess decides entry, the query scopes to the contact.
import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { idParam } from "~/server/fields";
import { requirePortalAccess } from "~/server/portal/portal-auth.server";
import { fileDownload } from "~/server/requests/files.server";
import { findContactFile } from "~/server/requests/file-lookups.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { auth, contactId } = await requirePortalAccess(request, context, params.firmSlug ?? "");
  const requestId = idParam.safeParse(params.requestId);
  const fileId = idParam.safeParse(params.fileId);
  const file =
    requestId.success && fileId.success ? await findContactFile(context.db, auth.firm.id, contactId, requestId.data, fileId.data) : null;
  if (!file) throw new Response("File not found", { status: 404 });
  return fileDownload(context.env, file);
}
