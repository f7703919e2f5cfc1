// The portal's passkey ceremonies, as JSON for the page's script (components/passkeys.tsx): options, then
// the browser's answer. Thin: every rule is in client-passkeys.server.ts and the portal policy.
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { deviceOf } from "~/server/auth/devices.server";
import { assertionResponseSchema, ceremonyOptions, parseCeremony, ceremonyRefused, registrationResponseSchema } from "~/server/auth/webauthn.server";
import {
  addClientPasskey,
  completePasskeyStep,
  passkeyRegistrationOptions,
  passkeySignInOptions,
  passkeyStepOptions,
  signInWithPasskey,
} from "~/server/portal/client-passkeys.server";
import { pathForAccess, portalAccess, portalPath, portalSessionCookie, requirePortalFirm } from "~/server/portal/portal-auth.server";

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("sign-in-options") }),
  z.object({ intent: z.literal("sign-in"), credential: assertionResponseSchema }),
  z.object({ intent: z.literal("step-options") }),
  z.object({ intent: z.literal("step"), credential: assertionResponseSchema }),
  z.object({ intent: z.literal("register-options") }),
  z.object({ intent: z.literal("register"), credential: registrationResponseSchema, name: z.string().max(200).optional() }),
]);

/** Not a page: the ceremonies are POSTs from the page's script. */
export function loader() {
  return new Response("Not found", { status: 404 });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug);
  const parsed = await parseCeremony(request, schema);
  if (!parsed.ok) return ceremonyRefused(parsed);
  const input = parsed.data;
  const { db, env, meta } = context;
  const device = deviceOf(request);
  const headers = new Headers();
  if (device.cookie) headers.append("Set-Cookie", device.cookie);

  if (input.intent === "sign-in-options") {
    const result = await passkeySignInOptions(db, env, firm, device.id);
    return ceremonyOptions(result, headers);
  }
  if (input.intent === "sign-in") {
    const result = await signInWithPasskey(db, env, firm, input.credential, { ...meta, deviceId: device.id });
    if (!result.ok) return ceremonyRefused(result);
    headers.append("Set-Cookie", portalSessionCookie(result.token, result.auth.session.expiresAt));
    return json({ ok: true as const, redirectTo: pathForAccess(firm.slug, portalAccess(result.auth, firm.slug)) }, { headers });
  }

  // The rest belongs to a signed-in client of this firm's portal.
  const auth = await context.auth.portal();
  if (!auth || auth.firm.id !== firm.id) return json({ ok: false as const, error: "Sign in first." }, { status: 401 });
  if (input.intent === "step-options" || input.intent === "register-options") {
    const result = input.intent === "step-options" ? await passkeyStepOptions(db, env, auth) : await passkeyRegistrationOptions(db, env, auth);
    return ceremonyOptions(result);
  }
  const result =
    input.intent === "step"
      ? await completePasskeyStep(db, env, auth, input.credential, { ...meta, deviceId: device.id })
      : await addClientPasskey(db, env, auth, input.credential, input.name, meta);
  if (!result.ok) return ceremonyRefused(result);
  if (result.token) headers.append("Set-Cookie", portalSessionCookie(result.token, result.auth.session.expiresAt));
  const access = portalAccess(result.auth, firm.slug);
  // Confirming who you are, or adding a passkey from the account page, goes back to the account page.
  const redirectTo = access.status === "granted" && auth.session.kind !== "client_link" && portalAccess(auth, firm.slug).status === "granted"
    ? portalPath(firm.slug, "/account")
    : pathForAccess(firm.slug, access);
  return json({ ok: true as const, redirectTo }, { headers });
}
