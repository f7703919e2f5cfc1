import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { EmailLinkForm } from "~/components/portal-forms";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { minimumPasswordLength, passwordSchema } from "~/server/auth/password-policy.server";
import { LINK_USED } from "~/server/portal/signup.server";
import { requestPasswordReset, resetPassword, resetTokenHasSecondFactor } from "~/server/portal/password-reset.server";
import { redirectIntoPortal, requirePortalFirm } from "~/server/portal/portal-auth.server";
import { passwordRefusal, passwordsAllowed } from "~/server/portal/portal-policy.server";
import { handleEmailLinkRequest, handleEmailRequest } from "~/server/portal/portal-routes.server";

export const meta: MetaFunction = () => [{ title: "Forgot password · Client portal" }];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const firmView = { name: firm.name, slug: firm.slug };
  if (!passwordsAllowed(firm)) return { firm: firmView, step: "disabled" as const, token: null, minLength: 15 };
  const token = new URL(request.url).searchParams.get("token");
  if (token) {
    const secondFactor = await resetTokenHasSecondFactor(context.db, firm, token);
    if (secondFactor === null) return { firm: firmView, step: "expired" as const, token: null, minLength: 15 };
    return { firm: firmView, step: "choose-password" as const, token, minLength: minimumPasswordLength(secondFactor) };
  }
  return { firm: firmView, step: "enter-email" as const, token: null, minLength: 15 };
}

// The email form's intent is the default: a post without one asks for a reset link. The new password's
// rules depend on the account behind the token, so the reset form's password is checked once that is known.
const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("request").optional() }),
  z.object({ intent: z.literal("email-link") }),
  z.object({ intent: z.literal("reset") }),
]);

export async function action({ request, params, context }: ActionFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const body = await readForm(request);
  const step = validateForm(schema, body, { unknownIntent: "Use the form on this page." });
  if (!step.ok) return failure(step);
  if (step.data.intent === "email-link") return handleEmailLinkRequest(request, context, firm, body);
  const refused = passwordRefusal(firm, "reset");
  if (refused) return failure(403, refused);
  if (step.data.intent === "reset") {
    const token = String(body.get("token") ?? "").slice(0, 100);
    const secondFactor = await resetTokenHasSecondFactor(context.db, firm, token);
    if (secondFactor === null) return failure(400, LINK_USED);
    const form = validateForm(z.object({ password: passwordSchema(secondFactor) }), body);
    if (!form.ok) return failure(form);
    const result = await resetPassword(context.db, firm, token, form.data.password, context.meta);
    if (!result.ok) return failure(result);
    return redirectIntoPortal(result.token, result.auth);
  }
  return handleEmailRequest(
    context,
    body,
    (email) => requestPasswordReset(context.db, context.env, context.ctx, firm, email),
    "If this address has a portal login, we have emailed it a link to choose a new password. It expires in 1 hour.",
  );
}

export default function ForgotPassword() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const base = `/portal/${data.firm.slug}`;
  return (
    <div className="narrow">
      <h1>{data.step === "choose-password" ? "Choose a new password" : "Forgot password?"}</h1>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {data.step === "disabled" ? (
        <>
          <p>{data.firm.name} has turned off portal passwords. Ask for an email link instead.</p>
          <div className="card">
            <EmailLinkForm action={`${base}/forgot-password`} error={fieldErrorOf(result, "email")} />
          </div>
        </>
      ) : null}
      {data.step === "choose-password" ? (
        <div className="card">
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="reset" />
            <input type="hidden" name="token" value={data.token ?? ""} />
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
              hint={`At least ${data.minLength} characters. Every device signed in to your account will be signed out.`}
              error={fieldErrorOf(result, "password")}
            />
            <button type="submit">Save</button>
          </Form>
        </div>
      ) : null}
      {data.step === "enter-email" || data.step === "expired" ? (
        <div className="card">
          {data.step === "expired" ? <p>This link has expired or was already used. Ask for a new one.</p> : null}
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="request" />
            <Field label="Email" name="email" type="email" autoComplete="email" required error={fieldErrorOf(result, "email")} />
            <button type="submit">Email me a reset link</button>
          </Form>
        </div>
      ) : null}
    </div>
  );
}
