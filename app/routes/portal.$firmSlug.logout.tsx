import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { portalPath, signOutClient } from "~/server/portal/portal-auth.server";

export function loader({ params }: ActionFunctionArgs) {
  throw redirect(portalPath(params.firmSlug ?? ""));
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const cookie = await signOutClient(context.db, request);
  return redirect(portalPath(params.firmSlug ?? ""), { headers: { "Set-Cookie": cookie } });
}
