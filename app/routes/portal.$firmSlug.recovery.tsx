import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError } from "~/components/form";
import { redeemRecoveryCode } from "~/server/portal/client-two-factor.server";
import { failure, parseForm } from "~/server/forms.server";
import { deviceOf } from "~/server/auth/devices.server";
import { normalizeRecoveryCode } from "~/server/auth/recovery-codes.server";
import { redirectIntoPortal, requirePortalStep } from "~/server/portal/portal-auth.server";

export const meta: MetaFunction = () => [{ title: "Use a recovery code · Client portal" }];

// The shape is checked here, before redeemRecoveryCode counts a failed attempt: a typo in the format
// is bad input (SECURITY.md rule 32) and must not use up the client's 5 tries.
const schema = z.object({
  code: z
    .string({ required_error: "Enter a recovery code.", invalid_type_error: "Enter a recovery code." })
    .trim()
    .min(1, "Enter a recovery code.")
    .refine((code) => normalizeRecoveryCode(code) !== null, "A recovery code has 16 letters and digits, like abcd-efgh-ijkl-mnop."),
});

export async function loader({ params, context }: LoaderFunctionArgs) {
  const { auth } = await requirePortalStep(context, params.firmSlug ?? "", ["needs_code"]);
  return { slug: auth.firm.slug, firmName: auth.firm.name };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth } = await requirePortalStep(context, params.firmSlug ?? "", ["needs_code"]);
  const form = await parseForm(request, schema);
  if (!form.ok) return failure(form);
  const device = deviceOf(request);
  const result = await redeemRecoveryCode(context.db, context.env, auth, form.data.code, { ...context.meta, deviceId: device.id });
  if (!result.ok) return failure(result);
  return redirectIntoPortal(result.token, result.auth, device.cookie);
}

export default function Recovery() {
  const { slug, firmName } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="narrow">
      <h1>Use a recovery code</h1>
      <p>
        Enter one of the recovery codes you saved when you set up two-factor authentication. The code is used up, two-factor
        authentication is turned off, and you will set up your authenticator app again{firmName ? ` if ${firmName} requires it` : ""}.
      </p>
      <FormError message={formErrorOf(result)} />
      <div className="card">
        <Form method="post" noValidate>
          <Field label="Recovery code" name="code" autoComplete="off" spellCheck={false} required error={fieldErrorOf(result, "code")} />
          <button type="submit">Use a recovery code</button>
        </Form>
      </div>
      <p>
        <AppLink to={`/portal/${slug}/2fa`}>Back to the code from my app</AppLink>
      </p>
    </div>
  );
}
