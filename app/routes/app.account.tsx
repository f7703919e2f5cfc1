import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { fieldErrorOf, formErrorOf, FormError, Notice, CodeField } from "~/components/form";
import { formatDate } from "~/lib/format";
import { totpCodeField } from "~/server/fields";
import { failure, parseForm } from "~/server/forms.server";
import { requireRecentAuth, requireStaff } from "~/server/staff/staff-auth.server";
import { disableStaffTotp } from "~/server/staff/staff-two-factor.server";

export const meta: MetaFunction = () => [{ title: "Your account · Client Portal" }];

const NOTICES: Record<string, string> = {
  "2fa-on": "Two-factor authentication is on. You will be asked for a code each time you sign in.",
  "2fa-off": "Two-factor authentication is off.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { staff } = await requireStaff(request, context);
  return json({ name: staff.name, email: staff.email, totpEnabledAt: staff.totpEnabledAt });
}

const disableSchema = z.object({ code: totpCodeField });

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  // Turning off a factor is a sensitive action (rule 18): a recent password as well as a current code.
  requireRecentAuth(auth, request, "/app/account");
  const form = await parseForm(request, disableSchema);
  if (!form.ok) return failure(form);
  const result = await disableStaffTotp(context.db, context.env, auth, form.data.code, context.meta);
  if (!result.ok) return failure(result);
  return redirect("/app/account?notice=2fa-off");
}

export default function StaffAccount() {
  const { name, email, totpEnabledAt } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <div className="narrow">
      <h1>Your account</h1>
      <Notice message={NOTICES[params.get("notice") ?? ""]} />
      <p>
        {name} · {email}
      </p>
      <section className="card" aria-labelledby="two-factor-heading">
        <h2 id="two-factor-heading">Two-factor authentication</h2>
        {totpEnabledAt ? (
          <>
            <p>
              <span className="badge badge-ok">On</span> since {formatDate(totpEnabledAt)}. Each sign-in asks for a code from your
              authenticator app.
            </p>
            <h3>Turn off two-factor authentication</h3>
            <FormError message={formErrorOf(data)} />
            <Form method="post" noValidate>
              <CodeField hint="To turn it off, enter the current 6-digit code from your authenticator app." error={fieldErrorOf(data, "code")} />
              <button type="submit" className="danger">
                Turn off two-factor authentication
              </button>
            </Form>
          </>
        ) : (
          <>
            <p>
              <span className="badge">Off</span> Protect your account with a code from an authenticator app (Google
              Authenticator, Microsoft Authenticator, 1Password, Authy…) in addition to your password.
            </p>
            <Link className="button" to="/app/account/two-factor">
              Set up two-factor authentication
            </Link>
          </>
        )}
      </section>
    </div>
  );
}
