// Adding a staff passkey, as JSON for the account page's script (components/passkeys.tsx).
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { ceremonyOptions, parseCeremony, ceremonyRefused, registrationResponseSchema } from "~/server/auth/webauthn.server";
import { staffSessionCookie } from "~/server/staff/staff-auth.server";
import { addStaffPasskey, staffRegistrationOptions } from "~/server/staff/staff-passkeys.server";

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("register-options") }),
  z.object({ intent: z.literal("register"), credential: registrationResponseSchema, name: z.string().max(200).optional() }),
]);

/** Not a page: the ceremonies are POSTs from the page's script. */
export function loader() {
  return new Response("Not found", { status: 404 });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await context.auth.staff();
  if (!auth) return json({ ok: false as const, error: "Sign in first." }, { status: 401 });
  const parsed = await parseCeremony(request, schema);
  if (!parsed.ok) return ceremonyRefused(parsed);
  if (parsed.data.intent === "register-options") {
    const result = await staffRegistrationOptions(context.db, context.env, auth);
    return ceremonyOptions(result);
  }
  const result = await addStaffPasskey(context.db, context.env, auth, parsed.data.credential, parsed.data.name, context.meta);
  if (!result.ok) return ceremonyRefused(result);
  return json({ ok: true as const, redirectTo: "/app/account?notice=passkey-added" }, { headers: { "Set-Cookie": staffSessionCookie(result.token) } });
}
