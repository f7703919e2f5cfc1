import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { minimumPasswordLength, passwordSchema } from "~/server/auth/password-policy.server";
import { completeSignup, createAccountFromLinkSession, OPEN_LINK_FIRST, requestSignupByEmail } from "~/server/portal/signup.server";
import { peekAccountToken } from "~/server/portal/account-tokens.server";
import { redirectIntoPortal, requirePortalFirm } from "~/server/portal/portal-auth.server";
import type { Firm } from "~/server/types";
import { passwordRefusal, passwordsAllowed, secondFactorApplies } from "~/server/portal/portal-policy.server";
import { handleEmailRequest } from "~/server/portal/portal-routes.server";

export const meta: MetaFunction = () => [{ title: "Create a login · Client portal" }];

const tokenField = z.string().max(100);

/** A new login has no authenticator yet: only the firm's mode decides whether 2FA applies (and the minimum length). */
function requiresTwoFactor(firm: Firm): boolean {
  return secondFactorApplies(firm, null);
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const token = new URL(request.url).searchParams.get("token");
  const auth = await context.auth.portal();
  const base = { firm: { name: firm.name, slug: firm.slug }, minLength: minimumPasswordLength(requiresTwoFactor(firm)) };
  if (!passwordsAllowed(firm)) return { ...base, step: "disabled" as const, email: null, token: null };
  if (token) {
    const found = await peekAccountToken(context.db, firm.id, "email_verification", token);
    return found
      ? { ...base, step: "choose-password" as const, email: found.email, token }
      : { ...base, step: "expired" as const, email: null, token: null };
  }
  if (auth && auth.firm.id === firm.id && auth.session.kind === "client_link" && !auth.account?.passwordHash) {
    return { ...base, step: "from-link" as const, email: auth.contact.email, token: null };
  }
  return { ...base, step: "enter-email" as const, email: null, token: null };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const refused = passwordRefusal(firm, "sign_up");
  if (refused) return failure(403, refused);
  const body = await readForm(request);
  const password = passwordSchema(requiresTwoFactor(firm));
  const form = validateForm(
    z.discriminatedUnion("intent", [
      // The email is checked (and rate limited) by handleEmailRequest, like every form that emails an address.
      z.object({ intent: z.literal("request") }),
      z.object({ intent: z.literal("complete"), token: tokenField, password }),
      z.object({ intent: z.literal("from-link"), password }),
    ]),
    body,
    { unknownIntent: "Use the form on this page." },
  );
  if (!form.ok) return failure(form);
  const data = form.data;

  if (data.intent === "request") {
    return handleEmailRequest(
      context,
      body,
      (email) => requestSignupByEmail(context.db, context.env, context.ctx, firm, email),
      "If this address belongs to one of our clients, we have emailed a link to create your login. It expires in 1 hour.",
    );
  }
  if (data.intent === "complete") {
    const result = await completeSignup(context.db, firm, data.token, data.password, context.meta);
    if (!result.ok) return failure(result);
    return redirectIntoPortal(result.token, result.auth);
  }
  const auth = await context.auth.portal();
  if (!auth || auth.firm.id !== firm.id) return failure(400, OPEN_LINK_FIRST);
  const result = await createAccountFromLinkSession(context.db, auth, data.password, context.meta);
  if (!result.ok) return failure(result);
  return redirectIntoPortal(result.token, result.auth);
}

function PasswordFields({ minLength, error }: { minLength: number; error?: string }) {
  return (
    <Field
      label="Password"
      name="password"
      type="password"
      autoComplete="new-password"
      required
      minLength={minLength}
      maxLength={128}
      hint={`At least ${minLength} characters. A few random words make a strong, memorable password.`}
      error={error}
    />
  );
}

export default function Signup() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const passwordError = fieldErrorOf(result, "password");
  return (
    <div className="narrow">
      <h1>Create a login</h1>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {data.step === "disabled" ? <p>{data.firm.name} shares requests through secure email links, so there are no portal logins.</p> : null}
      {data.step === "expired" ? <p>This link has expired or was already used. Enter your email below to get a new one.</p> : null}
      {data.step === "choose-password" || data.step === "from-link" ? (
        <div className="card">
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value={data.step === "from-link" ? "from-link" : "complete"} />
            {data.token ? <input type="hidden" name="token" value={data.token} /> : null}
            <p>
              Your login email will be <strong>{data.email}</strong>, the address {data.firm.name} has for you.
            </p>
            <PasswordFields minLength={data.minLength} error={passwordError} />
            <button type="submit">Create a login</button>
          </Form>
        </div>
      ) : null}
      {data.step === "enter-email" || data.step === "expired" ? (
        <div className="card">
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="request" />
            <Field
              label="Email"
              name="email"
              type="email"
              autoComplete="email"
              required
              hint={`Use the address ${data.firm.name} has for you. We will email you a link to choose your password.`}
              error={fieldErrorOf(result, "email")}
            />
            <button type="submit">Create a login</button>
          </Form>
        </div>
      ) : null}
    </div>
  );
}
