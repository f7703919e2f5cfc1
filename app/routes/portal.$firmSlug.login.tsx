import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, messageOf, Notice, submittedValueOf } from "~/components/form";
import { PasskeySignIn } from "~/components/passkeys";
import { ClientSignInForm, EmailLinkForm } from "~/components/portal-forms";
import { emailField, signInPasswordField } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { signInClient } from "~/server/portal/sign-in.server";
import { deviceOf } from "~/server/auth/devices.server";
import { redirectIntoPortal, requirePortalFirm } from "~/server/portal/portal-auth.server";
import { passwordsAllowed } from "~/server/portal/portal-policy.server";
import { handleEmailLinkRequest } from "~/server/portal/portal-routes.server";

export const meta: MetaFunction = () => [{ title: "Sign in · Client portal" }];

// The sign-in form is the default (it sends no intent); "Email me a link" is checked by its handler.
const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("sign-in").optional(), email: emailField, password: signInPasswordField }),
  z.object({ intent: z.literal("email-link") }),
]);

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const email = new URL(request.url).searchParams.get("email")?.slice(0, 254) ?? "";
  return { firm: { name: firm.name, slug: firm.slug, passwords: passwordsAllowed(firm) }, email };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const body = await readForm(request);
  const form = validateForm(schema, body);
  const email = String(body.get("email") ?? "").slice(0, 254);
  if (!form.ok) return failure(form, { email });
  if (form.data.intent === "email-link") return handleEmailLinkRequest(request, context, firm, body);
  const device = deviceOf(request);
  const result = await signInClient(context.db, firm, form.data.email, form.data.password, { ...context.meta, deviceId: device.id });
  if (!result.ok) return failure(result, { email });
  return redirectIntoPortal(result.token, result.auth, device.cookie);
}

export default function PortalLogin() {
  const { firm, email } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const base = `/portal/${firm.slug}`;
  const sent = messageOf(result);
  if (!firm.passwords) {
    return (
      <div className="narrow">
        <h1>Sign in with an email link</h1>
        <p>
          {firm.name} has turned off portal passwords: you get into the portal with a secure link sent to your email. Enter your email
          and we will send you one.
        </p>
        <Notice message={sent} />
        <FormError message={formErrorOf(result)} />
        <div className="card">
          <EmailLinkForm action={`${base}/login`} error={fieldErrorOf(result, "email")} />
        </div>
      </div>
    );
  }
  return (
    <div className="narrow">
      <h1>Sign in to {firm.name}</h1>
      <Notice message={sent} />
      <FormError message={formErrorOf(result)} />
      <PasskeySignIn action={`${base}/passkey`} />
      <div className="card">
        <ClientSignInForm
          action={`${base}/login`}
          base={base}
          email={submittedValueOf(result, "email") ?? email}
          errors={{ email: fieldErrorOf(result, "email"), password: fieldErrorOf(result, "password") }}
        />
      </div>
      <div className="card">
        <EmailLinkForm action={`${base}/login`} error={undefined} />
      </div>
    </div>
  );
}
