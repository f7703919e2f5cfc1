import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, CodeField } from "~/components/form";
import { PasskeyStep } from "~/components/passkeys";
import { completeClientSecondFactor } from "~/server/portal/client-two-factor.server";
import { totpCodeField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { deviceOf } from "~/server/auth/devices.server";
import { redirectIntoPortal, requirePortalStep } from "~/server/portal/portal-auth.server";

export const meta: MetaFunction = () => [{ title: "Two-factor authentication · Client portal" }];

export async function loader({ params, context }: LoaderFunctionArgs) {
  const { auth } = await requirePortalStep(context, params.firmSlug ?? "", ["needs_code"]);
  return { slug: auth.firm.slug, firmName: auth.firm.name, totp: auth.account?.totpEnabledAt != null, passkeys: auth.passkeys > 0 };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { auth } = await requirePortalStep(context, params.firmSlug ?? "", ["needs_code"]);
  const form = await parseForm(request, z.object({ code: totpCodeField }));
  if (!form.ok) return failure(form);
  const device = deviceOf(request);
  const result = await completeClientSecondFactor(context.db, context.env, auth, form.data.code, { ...context.meta, deviceId: device.id });
  if (!result.ok) return failure(result);
  return redirectIntoPortal(result.token, result.auth, device.cookie);
}

export default function TwoFactorStep() {
  const { slug, totp, passkeys } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="narrow">
      <h1>{totp ? "Enter your code" : "Use your passkey"}</h1>
      {totp ? <p>Open your authenticator app and enter the 6-digit code it shows for this portal.</p> : null}
      {passkeys ? (
        <div className="card">
          <p>{totp ? "Or confirm with your passkey: " : ""}Use the fingerprint, face or screen lock of the device that has your passkey.</p>
          <PasskeyStep action={`/portal/${slug}/passkey`} />
        </div>
      ) : null}
      <FormError message={formErrorOf(result)} />
      {totp ? (
        <div className="card">
          <Form method="post" noValidate>
            <CodeField autoFocus error={fieldErrorOf(result, "code")} />
            <button type="submit">Verify</button>
          </Form>
        </div>
      ) : null}
      <p>
        {totp ? (
          <>
            <AppLink to={`/portal/${slug}/recovery`}>Use a recovery code</AppLink> ·{" "}
          </>
        ) : (
          <>Lost your passkey? Ask your firm to remove it; you then set up two-factor authentication again. </>
        )}
        <AppLink to={`/portal/${slug}/help/two-factor`}>Help with two-factor authentication</AppLink>
      </p>
    </div>
  );
}
