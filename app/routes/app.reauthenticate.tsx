import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError } from "~/components/form";
import { redirectToField, signInPasswordField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { safeRedirectPath } from "~/server/request-meta.server";
import { reauthenticateStaff, requireStaff, staffSessionCookie } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Confirm your password · Client Portal" }];

const schema = z.object({ password: signInPasswordField, redirectTo: redirectToField });

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireStaff(request, context);
  // The form carries on only a checked return path ("" means the default page).
  return { redirectTo: safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"), "") };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  const form = await parseForm(request, schema);
  if (!form.ok) return failure(form);
  const result = await reauthenticateStaff(context.db, auth, form.data.password, context.meta.ip);
  if (!result.ok) return failure(result);
  return redirect(safeRedirectPath(form.data.redirectTo, "/app/contacts"), {
    headers: { "Set-Cookie": staffSessionCookie(result.token) },
  });
}

export default function Reauthenticate() {
  const data = useActionData<typeof action>();
  const { redirectTo } = useLoaderData<typeof loader>();
  return (
    <div className="narrow">
      <h1>Confirm your password</h1>
      <p>This action changes how clients get into the portal, so we ask for your password again.</p>
      <div className="card">
        <FormError message={formErrorOf(data)} />
        <Form method="post" noValidate>
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            error={fieldErrorOf(data, "password")}
          />
          <button type="submit">Continue</button>
        </Form>
      </div>
    </div>
  );
}
