// A staff member's first password, from the single-use link `npm run firm:create` prints (ADR 017). The
// token travels in `?token=`, so the worker sends this page with no-store and no-referrer (rule 6).
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { minimumPasswordLength, passwordSchema } from "~/server/auth/password-policy.server";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { findStaffForSetup, setFirstPassword } from "~/server/staff/staff-setup.server";

export const meta: MetaFunction = () => [{ title: "Choose your password · Client Portal" }, { name: "referrer", content: "no-referrer" }];

// No second factor yet when the first password is chosen: the longer minimum applies.
const schema = z.object({ token: z.string().max(200), password: passwordSchema(false) });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = (new URL(request.url).searchParams.get("token") ?? "").slice(0, 200);
  const staff = await findStaffForSetup(context.db, token);
  // The page names nobody: the address is shown only to whoever holds a working link.
  return { token: staff ? token : null, email: staff?.email ?? null, minLength: minimumPasswordLength(false) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = validateForm(schema, await readForm(request));
  if (!form.ok) return failure(form);
  const result = await setFirstPassword(context.db, form.data.token, form.data.password, context.meta);
  if (!result.ok) return failure(result);
  return json({ ok: true as const, message: "Your password is set. Sign in with your email address and it." });
}

export default function SetPassword() {
  const { token, email, minLength } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const done = messageOf(result);
  return (
    <main id="main" className="narrow">
      <h1>Choose your password</h1>
      <Notice message={done} />
      <FormError message={formErrorOf(result)} />
      {done ? (
        <p>
          <AppLink to="/login">Sign in</AppLink>
        </p>
      ) : token ? (
        <div className="card">
          <p>For {email}.</p>
          <Form method="post" noValidate>
            <input type="hidden" name="token" value={token} />
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
              hint={`At least ${minLength} characters.`}
              error={fieldErrorOf(result, "password")}
            />
            <button type="submit">Save</button>
          </Form>
        </div>
      ) : (
        <p>This link has expired or was already used. Ask whoever set up your firm for a new one.</p>
      )}
    </main>
  );
}
