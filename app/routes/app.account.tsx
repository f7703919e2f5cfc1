import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, Notice, CodeField } from "~/components/form";
import { AddPasskey } from "~/components/passkeys";
import { formatDate, formatDateTime } from "~/lib/format";
import { listPasskeys, summarisePasskey } from "~/server/auth/passkey-owners.server";
import { idParam, totpCodeField } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { hasRecentAuth, requireRecentAuth, requireStaff, staffPage } from "~/server/staff/staff-auth.server";
import { removeStaffPasskey } from "~/server/staff/staff-passkeys.server";
import { disableStaffTotp } from "~/server/staff/staff-two-factor.server";

export const meta: MetaFunction = () => [{ title: "Your account · Client Portal" }];

const NOTICES: Record<string, string> = {
  "2fa-on": "Two-factor authentication is on. You will be asked for a code each time you sign in.",
  "2fa-off": "Two-factor authentication is off.",
  "passkey-added": "Your passkey was added. You can sign in with it without a password.",
  "passkey-removed": "The passkey was removed, and your other devices were signed out.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  // The passkeys come in the session's round trip (issue 14).
  const {
    staff,
    session,
    data: passkeys,
  } = await staffPage(request, context, (firm, staffId) => listPasskeys(context.db, { kind: "staff", id: staffId, firmId: firm }, context.read));
  return {
    name: staff.name,
    email: staff.email,
    totpEnabledAt: staff.totpEnabledAt,
    passkeys: passkeys.map(summarisePasskey),
    recentAuth: hasRecentAuth(session),
  };
}

const disableSchema = z.object({ code: totpCodeField });
const removePasskeySchema = z.object({ intent: z.literal("remove-passkey"), id: idParam });

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  // Turning off a factor is a sensitive action (rule 18): a recent password as well as a current code.
  requireRecentAuth(auth, request, "/app/account");
  const body = await readForm(request);
  if (body.get("intent") === "remove-passkey") {
    const removal = validateForm(removePasskeySchema, body);
    if (!removal.ok) return failure(removal);
    const removed = await removeStaffPasskey(context.db, auth, removal.data.id, context.meta);
    if (!removed.ok) return failure(removed);
    return redirect("/app/account?notice=passkey-removed");
  }
  const form = validateForm(disableSchema, body);
  if (!form.ok) return failure(form);
  const result = await disableStaffTotp(context.db, context.env, auth, form.data.code, context.meta);
  if (!result.ok) return failure(result);
  return redirect("/app/account?notice=2fa-off");
}

export default function StaffAccount() {
  const { name, email, totpEnabledAt, passkeys, recentAuth } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <div className="narrow">
      <h1>Your account</h1>
      <Notice message={NOTICES[params.get("notice") ?? ""]} />
      <p>
        {name} · {email}
      </p>
      <section className="card" aria-labelledby="two-factor-heading">
        <h2 id="two-factor-heading">Two-factor authentication</h2>
        {totpEnabledAt ? (
          <>
            <p>
              <span className="badge badge-ok">On</span> since {formatDate(totpEnabledAt)}. Each sign-in asks for a code from your
              authenticator app.
            </p>
            <h3>Turn off two-factor authentication</h3>
            <FormError message={formErrorOf(data)} />
            <Form method="post" noValidate>
              <CodeField hint="To turn it off, enter the current 6-digit code from your authenticator app." error={fieldErrorOf(data, "code")} />
              <button type="submit" className="danger">
                Turn off two-factor authentication
              </button>
            </Form>
          </>
        ) : (
          <>
            <p>
              <span className="badge">Off</span> Protect your account with a code from an authenticator app (Google
              Authenticator, Microsoft Authenticator, 1Password, Authy…) in addition to your password.
            </p>
            <AppLink className="button" to="/app/account/two-factor">
              Set up two-factor authentication
            </AppLink>
          </>
        )}
      </section>
      <section className="card" aria-labelledby="passkeys-heading">
        <h2 id="passkeys-heading">Passkeys</h2>
        <p className="hint">Sign in with your device&apos;s fingerprint, face or screen lock: nothing to type, and it cannot be phished.</p>
        {passkeys.length === 0 ? (
          <p>No passkeys yet.</p>
        ) : (
          <ul>
            {passkeys.map((passkey) => (
              <li key={passkey.id}>
                {passkey.name}: added {formatDateTime(passkey.createdAt)}, last used {passkey.lastUsedAt ? formatDateTime(passkey.lastUsedAt) : "never"} (
                {passkey.synced ? "synced" : "device-bound"})
                <Form method="post" className="inline">
                  <input type="hidden" name="intent" value="remove-passkey" />
                  <input type="hidden" name="id" value={passkey.id} />
                  <button type="submit" className="secondary" aria-label={`Remove passkey ${passkey.name}`}>
                    Remove
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        )}
        {recentAuth ? (
          <AddPasskey action="/app/account/passkey" />
        ) : (
          <p>
            <AppLink to="/app/reauthenticate?redirectTo=%2Fapp%2Faccount">Confirm your password</AppLink> to add a passkey.
          </p>
        )}
      </section>
    </div>
  );
}
