import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction, TypedResponse } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import type { ShouldRevalidateFunction } from "@remix-run/react";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, CodeField } from "~/components/form";
import { totpCodeField } from "~/server/fields";
import { failure, readForm, validateForm, type FormFailure } from "~/server/forms.server";
import type { PendingEnrolment } from "~/server/auth/second-factor.server";
import { AddPasskey } from "~/components/passkeys";
import { hasRecentAuth, requireRecentAuth, requireStaff, staffSessionCookie } from "~/server/staff/staff-auth.server";
import { enrolStaffTotp, resumeStaffEnrolment, startStaffEnrolment } from "~/server/staff/staff-two-factor.server";

export const meta: MetaFunction = () => [{ title: "Set up two-factor authentication · Client Portal" }];

const SETUP_PATH = "/app/account/two-factor";

type EnrolmentView = Pick<PendingEnrolment, "pendingToken" | "manualKey" | "qrSvg">;

function view(enrolment: PendingEnrolment): EnrolmentView {
  return { pendingToken: enrolment.pendingToken, manualKey: enrolment.manualKey, qrSvg: enrolment.qrSvg };
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const auth = await requireStaff(request, context);
  if (auth.staff.totpEnabledAt) throw redirect("/app/account");
  // Adding a factor to an account is sensitive: a stolen session must not be able to bind its own app.
  requireRecentAuth(auth, request, SETUP_PATH);
  return { enrolment: view(await startStaffEnrolment(context.env, auth)) };
}

// After a wrong code the page keeps the secret already scanned (the action sends it back), rather than
// letting the loader make a new one.
export const shouldRevalidate: ShouldRevalidateFunction = ({ formMethod, defaultShouldRevalidate }) =>
  formMethod?.toUpperCase() === "POST" ? false : defaultShouldRevalidate;

const schema = z.object({ code: totpCodeField, pending: z.string({ required_error: "Start again." }).max(200) });

type Refused = FormFailure & { enrolment: EnrolmentView };

export async function action({ request, context }: ActionFunctionArgs): Promise<TypedResponse<Refused>> {
  const keys = context.env;
  const auth = await requireStaff(request, context);
  if (auth.staff.totpEnabledAt) throw redirect("/app/account");
  if (!hasRecentAuth(auth.session)) throw redirect(`/app/reauthenticate?redirectTo=${encodeURIComponent(SETUP_PATH)}`);
  const body = await readForm(request);
  const pending = body.get("pending");
  // The same secret again when the form came from this owner's page in time; a new one otherwise.
  const resumed = typeof pending === "string" ? await resumeStaffEnrolment(keys, auth, pending) : null;
  const enrolment = view(resumed ?? (await startStaffEnrolment(keys, auth)));
  const form = validateForm(schema, body);
  if (!form.ok) return failure(form, { enrolment });
  const result = await enrolStaffTotp(context.db, keys, auth, form.data.pending, form.data.code, context.meta);
  if (result.ok) {
    throw redirect("/app/account?notice=2fa-on", { headers: { "Set-Cookie": staffSessionCookie(result.token) } });
  }
  if (result.reason === "already_enrolled") throw redirect("/app/account");
  return failure(result, { enrolment });
}

export default function StaffTwoFactorSetup() {
  const loaded = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const { pendingToken, manualKey, qrSvg } = data?.enrolment ?? loaded.enrolment;
  return (
    <div className="narrow">
      <h1>Set up two-factor authentication</h1>
      <section className="card" aria-labelledby="passkey-setup-heading">
        <h2 id="passkey-setup-heading">The easier way: a passkey</h2>
        <AddPasskey
          action="/app/account/passkey"
          hint="Your device's fingerprint, face or screen lock becomes your second step, and you can sign in without a password."
        />
      </section>
      <h2>Or use an authenticator app</h2>
      <FormError message={formErrorOf(data)} />
      <ol className="stack">
        <li>
          Install an authenticator app on your phone if you do not have one: Google Authenticator, Microsoft Authenticator,
          Okta Verify, Authy or 1Password all work.
        </li>
        <li>
          <p>In the app, add an account and scan this QR code.</p>
          {/* Server-made SVG (uqr): attributes only, no script or style, so it passes the CSP. */}
          <div className="qr" role="img" aria-label="QR code to add this account to your authenticator app" dangerouslySetInnerHTML={{ __html: qrSvg }} />
          <p>
            Cannot scan it? Enter this key instead (time-based):{" "}
            <code className="totp-key">{manualKey}</code>
          </p>
        </li>
        <li>
          <Form method="post" noValidate>
            <input type="hidden" name="pending" value={pendingToken} />
            <CodeField hint="Enter the 6-digit code the app shows for this account." error={fieldErrorOf(data, "code")} />
            <div className="row">
              <button type="submit" disabled={busy}>
                Turn on two-factor authentication
              </button>
              <AppLink to="/app/account">Cancel</AppLink>
            </div>
          </Form>
        </li>
      </ol>
    </div>
  );
}
