// Staff passkey ceremonies as JSON for the page's script (components/passkeys.tsx): sign-in at /login
// (no email), and the second step at /login/2fa or a re-authentication. Rules: staff-passkeys.server.ts.
import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { deviceOf } from "~/server/auth/devices.server";
import { assertionResponseSchema, ceremonyOptions, parseCeremony, ceremonyRefused } from "~/server/auth/webauthn.server";
import { safeRedirectPath } from "~/server/request-meta.server";
import { loadPendingStaffSession, staffSessionCookie } from "~/server/staff/staff-auth.server";
import { completeStaffPasskeyStep, signInStaffWithPasskey, staffPasskeySignInOptions, staffStepOptions } from "~/server/staff/staff-passkeys.server";

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("sign-in-options") }),
  z.object({ intent: z.literal("sign-in"), credential: assertionResponseSchema, redirectTo: z.string().max(1000).optional() }),
  z.object({ intent: z.literal("step-options") }),
  z.object({ intent: z.literal("step"), credential: assertionResponseSchema, redirectTo: z.string().max(1000).optional() }),
]);

/** Not a page: the ceremonies are POSTs from the page's script. */
export function loader() {
  return new Response("Not found", { status: 404 });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const parsed = await parseCeremony(request, schema);
  if (!parsed.ok) return ceremonyRefused(parsed);
  const input = parsed.data;
  const { db, env, meta } = context;
  const device = deviceOf(request);
  const headers = new Headers();
  if (device.cookie) headers.append("Set-Cookie", device.cookie);
  if (input.intent === "sign-in-options") {
    const result = await staffPasskeySignInOptions(db, env, device.id);
    return ceremonyOptions(result, headers);
  }
  if (input.intent === "sign-in") {
    const result = await signInStaffWithPasskey(db, env, input.credential, { ...meta, deviceId: device.id });
    if (!result.ok) return ceremonyRefused(result);
    headers.append("Set-Cookie", staffSessionCookie(result.token));
    const next = safeRedirectPath(input.redirectTo, "/app/contacts");
    return json({ ok: true as const, redirectTo: result.needsSecondFactor ? `/login/2fa?redirectTo=${encodeURIComponent(next)}` : next }, { headers });
  }
  // The step: a session waiting at /login/2fa, or a signed-in staff member confirming who they are.
  const auth = (await context.auth.staff()) ?? (await loadPendingStaffSession(db, request));
  if (!auth) return json({ ok: false as const, error: "Sign in first." }, { status: 401 });
  if (input.intent === "step-options") {
    const result = await staffStepOptions(db, env, auth);
    return ceremonyOptions(result);
  }
  const result = await completeStaffPasskeyStep(db, env, auth, input.credential, meta);
  if (!result.ok) return ceremonyRefused(result);
  headers.append("Set-Cookie", staffSessionCookie(result.token));
  return json({ ok: true as const, redirectTo: safeRedirectPath(input.redirectTo, "/app/contacts") }, { headers });
}
