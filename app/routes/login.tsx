import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, submittedValueOf } from "~/components/form";
import { PasskeySignIn } from "~/components/passkeys";
import { emailField, redirectToField, signInPasswordField } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { safeRedirectPath } from "~/server/request-meta.server";
import { signInStaff, staffSessionCookie } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Sign in · Client Portal" }];

const schema = z.object({ email: emailField, password: signInPasswordField, redirectTo: redirectToField });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const to = new URL(request.url).searchParams.get("redirectTo");
  if (await context.auth.staff()) throw redirect(safeRedirectPath(to, "/app/contacts"));
  // The form carries on only a checked return path ("" means the default page).
  return { redirectTo: safeRedirectPath(to, "") };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const body = await readForm(request);
  const form = validateForm(schema, body);
  // The email is kept in the form after an error; a password is never sent back.
  const email = String(body.get("email") ?? "").slice(0, 254);
  if (!form.ok) return failure(form, { email });
  const { password, redirectTo } = form.data;
  const result = await signInStaff(context.db, { email: form.data.email, password, ...context.meta });
  if (!result.ok) return failure(result, { email });
  const next = safeRedirectPath(redirectTo, "/app/contacts");
  const target = result.needsSecondFactor ? `/login/2fa?redirectTo=${encodeURIComponent(next)}` : next;
  return redirect(target, { headers: { "Set-Cookie": staffSessionCookie(result.token) } });
}

export default function StaffLogin() {
  const data = useActionData<typeof action>();
  const { redirectTo } = useLoaderData<typeof loader>();
  const busy = useNavigation().state === "submitting";
  return (
    <main id="main" className="narrow">
      <h1>Sign in to your firm</h1>
      <div className="card">
        <FormError message={formErrorOf(data)} />
        <Form method="post" noValidate>
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="username webauthn"
            required
            defaultValue={submittedValueOf(data, "email")}
            error={fieldErrorOf(data, "email")}
          />
          <Field label="Password" name="password" type="password" autoComplete="current-password" required error={fieldErrorOf(data, "password")} />
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </Form>
      </div>
      <PasskeySignIn action="/login/passkey" redirectTo={redirectTo || undefined} />
      <p className="muted small">Are you a client of a firm? Use the portal link your firm sent you.</p>
    </main>
  );
}
