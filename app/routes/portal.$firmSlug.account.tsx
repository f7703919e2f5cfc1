import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice, CodeField } from "~/components/form";
import { AddPasskey, PasskeyStep } from "~/components/passkeys";
import { listPasskeys, summarisePasskey } from "~/server/auth/passkey-owners.server";
import { removeClientPasskey } from "~/server/portal/client-passkeys.server";
import { clientRecentlyAuthenticated, reauthenticateClient } from "~/server/portal/client-reauth.server";
import { formatDateTime } from "~/lib/format";
import { clientSignOutEverywhere, recentSignIns } from "~/server/portal/client-account.server";
import { disableClientTotp } from "~/server/portal/client-two-factor.server";
import { clearCookie, PORTAL_SESSION_COOKIE } from "~/server/cookies.server";
import { idParam, signInPasswordField, totpCodeField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { portalPage, portalPath, portalSessionCookie, requirePortalAccess } from "~/server/portal/portal-auth.server";
import { factorAccepted, passwordsAllowed, secondFactorRequired } from "~/server/portal/portal-policy.server";

export const meta: MetaFunction = () => [{ title: "Your account · Client portal" }];

const EVENT_LABELS: Record<string, string> = {
  "client.signed_in": "Signed in",
  "access_link.claimed": "Opened an email link",
  "access_link.reopened": "Opened an email link again",
  "client.recovery_code_used": "Signed in with a recovery code",
};

// The account scope: link sessions are sent to sign in (or create a login) before any of this page.
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  // The sign-in history and the passkeys come in the session's round trip (issue 14).
  const {
    auth,
    data: [signIns, passkeys],
  } = await portalPage(
    request,
    context,
    params.firmSlug ?? "",
    (session) =>
      Promise.all([
        recentSignIns(context.db, session, context.read),
        listPasskeys(context.db, { kind: "portal", id: session.account, firmId: session.firm }, context.read),
      ]),
    "account",
  );
  return {
    passkeysOffered: factorAccepted(auth.firm, "passkey"),
    passkeys: passkeys.map(summarisePasskey),
    recentAuth: clientRecentlyAuthenticated(auth.session),
    slug: auth.firm.slug,
    passwords: passwordsAllowed(auth.firm),
    twoFactorRequired: secondFactorRequired(auth.firm),
    sessionKind: auth.session.kind,
    account: auth.account ? { email: auth.account.email, totpEnabledAt: auth.account.totpEnabledAt } : null,
    signIns: signIns.map((s) => ({ ...s, label: EVENT_LABELS[s.type] ?? s.type })),
  };
}

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("sign-out-all") }),
  z.object({ intent: z.literal("disable-2fa"), code: totpCodeField }),
  z.object({ intent: z.literal("reauthenticate"), password: signInPasswordField, code: totpCodeField.optional() }),
  z.object({ intent: z.literal("remove-passkey"), id: idParam }),
]);

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth } = await requirePortalAccess(request, context, params.firmSlug ?? "", "account");
  const form = await parseForm(request, schema);
  if (!form.ok) return failure(form);
  if (form.data.intent === "sign-out-all") {
    await clientSignOutEverywhere(context.db, auth, context.meta);
    return redirect(portalPath(auth.firm.slug), { headers: { "Set-Cookie": clearCookie(PORTAL_SESSION_COOKIE) } });
  }
  if (form.data.intent === "reauthenticate") {
    const confirmed = await reauthenticateClient(context.db, context.env, auth, form.data, context.meta);
    if (!confirmed.ok) return failure(confirmed);
    return json(
      { ok: true as const, message: "Thank you. You can now add or remove passkeys for the next 10 minutes." },
      { headers: { "Set-Cookie": portalSessionCookie(confirmed.token, confirmed.auth.session.expiresAt) } },
    );
  }
  if (form.data.intent === "remove-passkey") {
    const removed = await removeClientPasskey(context.db, auth, form.data.id, context.meta);
    if (!removed.ok) return failure(removed);
    return json({ ok: true as const, message: "The passkey was removed, and your other devices were signed out." });
  }
  const result = await disableClientTotp(context.db, context.env, auth, form.data.code, context.meta);
  if (!result.ok) return failure(result);
  return json({ ok: true as const, message: "Two-factor authentication is off." });
}

export default function ClientAccount() {
  const { slug, passwords, twoFactorRequired, sessionKind, account, signIns, passkeysOffered, passkeys, recentAuth } = useLoaderData<typeof loader>();
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
          ) : sessionKind !== "client_link" ? (
            <p>
              Off. <AppLink to={`${base}/2fa/setup`}>Set up two-factor authentication</AppLink> to protect your account with a code from your
              phone.
            </p>
          ) : (
            <p>Off. Sign in with your password to set it up.</p>
          )}
        </section>
      ) : null}
      {account && passkeysOffered ? (
        <section className="card" aria-labelledby="passkeys-heading">
          <h2 id="passkeys-heading">Passkeys</h2>
          <p className="hint">
            A passkey signs you in with your device&apos;s fingerprint, face or screen lock: no password{twoFactorRequired ? " and no code" : ""} to
            type, and it only works on this portal, so it cannot be phished.
          </p>
          {passkeys.length === 0 ? (
            <p>No passkeys yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="compact">
                <caption className="visually-hidden">Your passkeys</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Added</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Kind</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {passkeys.map((passkey) => (
                    <tr key={passkey.id}>
                      <td>{passkey.name}</td>
                      <td>{formatDateTime(passkey.createdAt)}</td>
                      <td>{passkey.lastUsedAt ? formatDateTime(passkey.lastUsedAt) : "Never"}</td>
                      <td>{passkey.synced ? "Synced" : "Device-bound"}</td>
                      <td>
                        <Form method="post">
                          <input type="hidden" name="intent" value="remove-passkey" />
                          <input type="hidden" name="id" value={passkey.id} />
                          <button type="submit" className="secondary" aria-label={`Remove passkey ${passkey.name}`}>
                            Remove
                          </button>
                        </Form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {recentAuth ? (
            <AddPasskey action={`${base}/passkey`} />
          ) : (
            <>
              <p>To add or remove a passkey, confirm it is you first.</p>
              {passkeys.length ? <PasskeyStep action={`${base}/passkey`} label="Confirm with a passkey" /> : null}
              {passwords ? (
                <Form method="post" noValidate>
                  <input type="hidden" name="intent" value="reauthenticate" />
                  <Field label="Password" name="password" id="reauth-password" type="password" autoComplete="current-password" required error={fieldErrorOf(result, "password")} />
                  {account.totpEnabledAt ? <CodeField id="reauth-code" error={fieldErrorOf(result, "code")} /> : null}
                  <button type="submit" className="secondary">
                    Confirm it is you
                  </button>
                </Form>
              ) : null}
            </>
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
