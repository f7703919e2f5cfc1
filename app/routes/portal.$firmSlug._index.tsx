import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { useActionData, useLoaderData } from "@remix-run/react";
import { fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { ClientSignInForm, EmailLinkForm } from "~/components/portal-forms";
import { pathForAccess, portalAccess, requirePortalFirm } from "~/server/portal/portal-auth.server";
import { passwordsAllowed, secondFactorRequired } from "~/server/portal/portal-policy.server";
import { handleEmailLinkRequest } from "~/server/portal/portal-routes.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.firm.name ?? "Client"} portal` }];

export async function loader({ params, context }: LoaderFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  const access = portalAccess(await context.auth.portal(), firm.slug);
  if (access.status !== "signed_out" && access.status !== "needs_sign_in" && access.status !== "needs_account") {
    throw redirect(pathForAccess(firm.slug, access));
  }
  return { firm: { name: firm.name, slug: firm.slug, passwords: passwordsAllowed(firm), twoFactorRequired: secondFactorRequired(firm) } };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  return handleEmailLinkRequest(request, context, firm);
}

export default function PortalFrontDoor() {
  const { firm } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const base = `/portal/${firm.slug}`;
  return (
    <div className="narrow">
      <h1>Welcome to the {firm.name} client portal</h1>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {!firm.passwords ? (
        <p>
          {firm.name} shares your requests through secure email links. Enter the email address {firm.name} has for you and we will send
          you a link.
        </p>
      ) : (
        <div className="card">
          {firm.twoFactorRequired ? (
            <p className="hint">
              {firm.name} requires two-factor authentication: have your authenticator app ready.{" "}
              <a href={`${base}/help/two-factor`}>What is this?</a>
            </p>
          ) : null}
          <ClientSignInForm action={`${base}/login`} base={base} />
        </div>
      )}
      <div className="card">
        <EmailLinkForm action={base + "?index"} error={fieldErrorOf(result, "email")} />
      </div>
    </div>
  );
}
