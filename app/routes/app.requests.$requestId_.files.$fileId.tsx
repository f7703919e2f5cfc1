// Staff download of a client's file: the firm's staff only, streamed from R2 through the worker.
import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { idParam } from "~/server/fields";
import { fileDownload } from "~/server/requests/files.server";
import { findFirmFile } from "~/server/requests/file-lookups.server";
import { requireStaff } from "~/server/staff/staff-auth.server";

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { firm } = await requireStaff(request, context);
  const requestId = idParam.safeParse(params.requestId);
  const fileId = idParam.safeParse(params.fileId);
  const file = requestId.success && fileId.success ? await findFirmFile(context.db, firm.id, requestId.data, fileId.data) : null;
  if (!file) throw new Response("File not found", { status: 404 });
  return fileDownload(context.env, file);
}
