import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import type { ShouldRevalidateFunction } from "@remix-run/react";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, CodeField } from "~/components/form";
import { AddPasskey } from "~/components/passkeys";
import { RecoveryCodes } from "~/components/recovery-codes";
import { enrolClientTotp, resumeClientEnrolment, startClientEnrolment } from "~/server/portal/client-two-factor.server";
import { totpCodeField } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { mayEnrolVoluntarily, pathForAccess, portalSessionCookie, requirePortalStep } from "~/server/portal/portal-auth.server";

export const meta: MetaFunction = () => [{ title: "Set up two-factor authentication · Client portal" }];

/** Required enrolment (firm mode) or a voluntary one from the account page. */
async function enrolling(context: LoaderFunctionArgs["context"], slug: string) {
  const { auth, access } = await requirePortalStep(context, slug, ["needs_enrolment", "granted"]);
  if (access.status === "granted" && !mayEnrolVoluntarily(auth, access)) throw redirect(pathForAccess(slug, access));
  return { auth, required: access.status === "needs_enrolment" };
}

export async function loader({ params, context }: LoaderFunctionArgs) {
  const { auth, required } = await enrolling(context, params.firmSlug ?? "");
  const pending = await startClientEnrolment(context.env, auth);
  return { pending, required, slug: auth.firm.slug, firmName: auth.firm.name };
}


const schema = z.object({ code: totpCodeField, pending: z.string().min(1).max(500) });

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth } = await enrolling(context, params.firmSlug ?? "");
  const body = await readForm(request);
  const form = validateForm(schema, body);
  const pendingToken = String(body.get("pending") ?? "").slice(0, 500);
  // After a wrong code the same secret is shown again, so an app that already scanned it keeps working.
  const pending = (await resumeClientEnrolment(context.env, auth, pendingToken)) ?? (await startClientEnrolment(context.env, auth));
  if (!form.ok) return failure(form, { pending, recoveryCodes: null });
  const result = await enrolClientTotp(context.db, context.env, auth, form.data.pending, form.data.code, context.meta);
  if (!result.ok) {
    const fresh = result.reason === "expired" ? await startClientEnrolment(context.env, auth) : pending;
    return failure(result, { pending: fresh, recoveryCodes: null });
  }
  return json(
    { ok: true as const, pending: null, recoveryCodes: result.recoveryCodes },
    { headers: { "Set-Cookie": portalSessionCookie(result.token, result.auth.session.expiresAt), "Cache-Control": "no-store" } },
  );
}

// Once enrolled, this page's loader would send the client on to their requests; the recovery codes in
// the action's answer must stay on screen until the client has saved them.
export const shouldRevalidate: ShouldRevalidateFunction = ({ actionResult, defaultShouldRevalidate }) =>
  actionResult && typeof actionResult === "object" && "recoveryCodes" in actionResult && actionResult.recoveryCodes ? false : defaultShouldRevalidate;

export default function TwoFactorSetup() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  if (result?.recoveryCodes) {
    return (
      <div className="narrow-wide">
        <h1>Two-factor authentication is on</h1>
        <RecoveryCodes codes={result.recoveryCodes} firmName={data.firmName} />
        <p>
          <AppLink className="button" to={`/portal/${data.slug}/requests`}>
            Continue to your requests
          </AppLink>
        </p>
      </div>
    );
  }
  const pending = result?.pending ?? data.pending;
  return (
    <div className="narrow-wide">
      <h1>Set up two-factor authentication</h1>
      {data.required ? (
        <>
          <p>{data.firmName} requires a second step when you sign in to the client portal: a passkey, or an authenticator app.</p>
          <section className="card" aria-labelledby="passkey-setup-heading">
            <h2 id="passkey-setup-heading">The easier way: a passkey</h2>
            <AddPasskey
              action={`/portal/${data.slug}/passkey`}
              hint="Your device's fingerprint, face or screen lock becomes your second step, and you can later sign in without a password."
            />
          </section>
          <h2>Or use an authenticator app</h2>
        </>
      ) : null}
      <FormError message={formErrorOf(result)} />
      <ol className="stack">
        <li>
          Install an authenticator app on your phone, such as Google Authenticator, Microsoft Authenticator, Okta Verify, Authy or
          1Password. <AppLink to={`/portal/${data.slug}/help/two-factor`}>More about two-factor authentication</AppLink>
        </li>
        <li>
          <p>Scan this QR code with the app:</p>
          <div className="qr" role="img" aria-label="QR code for your authenticator app" dangerouslySetInnerHTML={{ __html: pending.qrSvg }} />
          <p>
            Or type this key into the app: <code className="totp-key">{pending.manualKey}</code>
          </p>
        </li>
        <li>
          <Form method="post" noValidate>
            <input type="hidden" name="pending" value={pending.pendingToken} />
            <CodeField hint="Enter the 6-digit code the app shows." error={fieldErrorOf(result, "code")} />
            <button type="submit">Verify</button>
          </Form>
        </li>
      </ol>
    </div>
  );
}
