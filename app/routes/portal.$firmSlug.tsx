import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, Outlet, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { pathForAccess, portalAccess, requirePortalFirm } from "~/server/portal/portal-auth.server";

/** Pages a client half-way through the second factor may see; every other portal page sends them back. */
const SECOND_FACTOR_PAGES = ["/2fa", "/2fa/setup", "/recovery", "/help/two-factor"];

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const auth = await context.auth.portal();
  // A signed-in client's session query already brought the firm: no second query for it.
  const firm = auth && auth.firm.slug === params.firmSlug ? auth.firm : await requirePortalFirm(context.db, params.firmSlug, context.read);
  const access = portalAccess(auth, firm.slug);
  if (access.status === "needs_code" || access.status === "needs_enrolment") {
    const page = new URL(request.url).pathname.slice(`/portal/${firm.slug}`.length).replace(/\/$/, "");
    if (!SECOND_FACTOR_PAGES.includes(page)) throw redirect(pathForAccess(firm.slug, access));
  }
  return {
    firm: { name: firm.name, slug: firm.slug },
    signedIn: access.status === "granted",
    // A link session opens requests only; the account page needs a password sign-in.
    accountPage: portalAccess(auth, firm.slug, "account").status === "granted",
    hasSession: access.status !== "signed_out",
  };
}

export default function PortalLayout() {
  const { firm, signedIn, accountPage, hasSession } = useLoaderData<typeof loader>();
  const base = `/portal/${firm.slug}`;
  return (
    <>
      <header className="topbar">
        <nav className="topbar-inner" aria-label="Portal">
          <AppLink className="brand" to={base}>
            {firm.name} client portal
          </AppLink>
          {signedIn ? (
            <>
              <AppLink to={`${base}/requests`}>Requests</AppLink>
              {accountPage ? <AppLink to={`${base}/account`}>Account</AppLink> : null}
            </>
          ) : null}
          {hasSession ? (
            <Form method="post" action={`${base}/logout`}>
              <button type="submit">Sign out</button>
            </Form>
          ) : null}
        </nav>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}
