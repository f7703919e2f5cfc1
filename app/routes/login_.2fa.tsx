import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, CodeField } from "~/components/form";
import { PasskeyStep } from "~/components/passkeys";
import { redirectToField, totpCodeField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { safeRedirectPath } from "~/server/request-meta.server";
import { loadPendingStaffSession, staffSessionCookie } from "~/server/staff/staff-auth.server";
import { completeStaffSecondFactor } from "~/server/staff/staff-two-factor.server";

export const meta: MetaFunction = () => [{ title: "Two-factor authentication · Client Portal" }];

const schema = z.object({ code: totpCodeField, redirectTo: redirectToField });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = new URL(request.url).searchParams.get("redirectTo");
  if (await context.auth.staff()) throw redirect(safeRedirectPath(redirectTo, "/app/contacts"));
  const pending = await loadPendingStaffSession(context.db, request);
  if (!pending) throw redirect("/login");
  // The form carries on only a checked return path ("" means the default page).
  return { redirectTo: safeRedirectPath(redirectTo, ""), totp: pending.staff.totpEnabledAt !== null, passkeys: pending.passkeys > 0 };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const pending = await loadPendingStaffSession(context.db, request);
  if (!pending) throw redirect("/login");
  const form = await parseForm(request, schema);
  if (!form.ok) return failure(form);
  const result = await completeStaffSecondFactor(context.db, context.env, pending, form.data.code, context.meta);
  if (!result.ok) return failure(result);
  return redirect(safeRedirectPath(form.data.redirectTo, "/app/contacts"), {
    headers: { "Set-Cookie": staffSessionCookie(result.token) },
  });
}

export default function StaffSecondFactor() {
  const data = useActionData<typeof action>();
  const { redirectTo, totp, passkeys } = useLoaderData<typeof loader>();
  const busy = useNavigation().state === "submitting";
  return (
    <main id="main" className="narrow">
      <h1>Two-factor authentication</h1>
      {passkeys ? (
        <div className="card">
          <p>Confirm with your passkey: the fingerprint, face or screen lock of the device that has it.</p>
          <PasskeyStep action="/login/passkey" redirectTo={redirectTo || undefined} />
        </div>
      ) : null}
      {totp ? (
        <div className="card">
          <FormError message={formErrorOf(data)} />
          <Form method="post" noValidate>
            <input type="hidden" name="redirectTo" value={redirectTo} />
            <CodeField hint="The 6-digit code from your authenticator app." error={fieldErrorOf(data, "code")} />
            <button type="submit" disabled={busy}>
              Verify
            </button>
          </Form>
        </div>
      ) : null}
      <Form method="post" action="/logout">
        <button type="submit" className="secondary">
          Cancel and sign out
        </button>
      </Form>
    </main>
  );
}
