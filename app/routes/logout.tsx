import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { signOutStaff } from "~/server/staff/staff-auth.server";

// Sign-out is a POST only: a GET (a prefetch, an <img> on another site) must never sign anyone out.
export async function loader() {
  throw redirect("/app/contacts");
}

export async function action({ request, context }: ActionFunctionArgs) {
  const cookie = await signOutStaff(context.db, request);
  return redirect("/login", { headers: { "Set-Cookie": cookie } });
}
