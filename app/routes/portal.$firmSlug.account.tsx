import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, messageOf, Notice, CodeField } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { clientSignOutEverywhere, recentSignIns } from "~/server/portal/client-account.server";
import { disableClientTotp } from "~/server/portal/client-two-factor.server";
import { clearCookie, PORTAL_SESSION_COOKIE } from "~/server/cookies.server";
import { totpCodeField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { portalPage, portalPath, requirePortalAccess } from "~/server/portal/portal-auth.server";
import { passwordsAllowed, secondFactorRequired } from "~/server/portal/portal-policy.server";

export const meta: MetaFunction = () => [{ title: "Your account · Client portal" }];

const EVENT_LABELS: Record<string, string> = {
  "client.signed_in": "Signed in",
  "access_link.claimed": "Opened an email link",
  "access_link.reopened": "Opened an email link again",
  "client.recovery_code_used": "Signed in with a recovery code",
};

// The account scope: link sessions are sent to sign in (or create a login) before any of this page.
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  // The sign-in history comes in the session's round trip (issue 14).
  const { auth, data: signIns } = await portalPage(request, context, params.firmSlug ?? "", (session) => recentSignIns(context.db, session, context.read), "account");
  return json({
    slug: auth.firm.slug,
    passwords: passwordsAllowed(auth.firm),
    twoFactorRequired: secondFactorRequired(auth.firm),
    sessionKind: auth.session.kind,
    account: auth.account ? { email: auth.account.email, totpEnabledAt: auth.account.totpEnabledAt } : null,
    signIns: signIns.map((s) => ({ ...s, label: EVENT_LABELS[s.type] ?? s.type })),
  });
}

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("sign-out-all") }),
  z.object({ intent: z.literal("disable-2fa"), code: totpCodeField }),
]);

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth } = await requirePortalAccess(request, context, params.firmSlug ?? "", "account");
  const form = await parseForm(request, schema);
  if (!form.ok) return failure(form);
  if (form.data.intent === "sign-out-all") {
    await clientSignOutEverywhere(context.db, auth, context.meta);
    return redirect(portalPath(auth.firm.slug), { headers: { "Set-Cookie": clearCookie(PORTAL_SESSION_COOKIE) } });
  }
  const result = await disableClientTotp(context.db, context.env, auth, form.data.code, context.meta);
  if (!result.ok) return failure(result);
  return json({ ok: true as const, message: "Two-factor authentication is off." });
}

export default function ClientAccount() {
  const { slug, passwords, twoFactorRequired, sessionKind, account, signIns } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const base = `/portal/${slug}`;
  return (
    <div className="narrow-wide">
      <h1>Your account</h1>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      <section className="card" aria-labelledby="login-heading">
        <h2 id="login-heading">Login</h2>
        {account ? (
          <p>
            You sign in with <strong>{account.email}</strong>.
          </p>
        ) : null}
      </section>
      {account && passwords ? (
        <section className="card" aria-labelledby="tfa-heading">
          <h2 id="tfa-heading">Two-factor authentication</h2>
          {account.totpEnabledAt ? (
            <>
              <p>On since {formatDateTime(account.totpEnabledAt)}.</p>
              {twoFactorRequired ? (
                <p className="hint">Your firm requires two-factor authentication, so it stays on.</p>
              ) : (
                <Form method="post" noValidate>
                  <input type="hidden" name="intent" value="disable-2fa" />
                  <CodeField hint="Enter a current code from your app to turn two-factor authentication off." error={fieldErrorOf(result, "code")} />
                  <button type="submit" className="secondary">
                    Turn off two-factor authentication
                  </button>
                </Form>
              )}
            </>
          ) : sessionKind === "client_password" ? (
            <p>
              Off. <Link to={`${base}/2fa/setup`}>Set up two-factor authentication</Link> to protect your account with a code from your
              phone.
            </p>
          ) : (
            <p>Off. Sign in with your password to set it up.</p>
          )}
        </section>
      ) : null}
      <section className="card" aria-labelledby="activity-heading">
        <h2 id="activity-heading">Recent sign-ins</h2>
        {signIns.length === 0 ? <p>None yet.</p> : null}
        <ul className="small">
          {signIns.map((s, i) => (
            <li key={i}>
              {formatDateTime(s.at)}: {s.label}
              {s.ip ? ` from ${s.ip}` : ""}
              {s.userAgent ? ` (${s.userAgent.slice(0, 80)})` : ""}
            </li>
          ))}
        </ul>
        <Form method="post">
          <input type="hidden" name="intent" value="sign-out-all" />
          <button type="submit" className="secondary">
            Sign out of all devices
          </button>
        </Form>
      </section>
    </div>
  );
}
