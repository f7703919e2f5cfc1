import { Form } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { Field } from "./form";

/** "Email me a link": the one way in that works in every mode. */
export function EmailLinkForm({ action, error }: { action: string; error?: string }) {
  return (
    <Form method="post" action={action} noValidate aria-labelledby="email-link-heading">
      <h2 id="email-link-heading">Email me a link</h2>
      <p className="hint">We will email a sign-in link to your address. It expires in 15 minutes.</p>
      <input type="hidden" name="intent" value="email-link" />
      <Field label="Email" name="email" id="link-email" type="email" autoComplete="email" required error={error} />
      <button type="submit" className="secondary">
        Email me a link
      </button>
    </Form>
  );
}

export function ClientSignInForm({
  action,
  email,
  errors = {},
  base,
}: {
  action: string;
  email?: string;
  errors?: Record<string, string | undefined>;
  base: string;
}) {
  return (
    <Form method="post" action={action} noValidate aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign in</h2>
      {/* "webauthn": the browser may offer the client's passkeys in this field's autofill. */}
      <Field label="Email" name="email" type="email" autoComplete="username webauthn" required defaultValue={email} error={errors.email} />
      <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
      <div className="row">
        <button type="submit">Sign in</button>
        <AppLink to={`${base}/forgot-password`}>Forgot password?</AppLink>
        <AppLink to={`${base}/signup`}>Create a login</AppLink>
      </div>
    </Form>
  );
}
