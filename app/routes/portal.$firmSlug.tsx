import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, Link, Outlet, useLoaderData } from "@remix-run/react";
import { portalAccess, requirePortalFirm } from "~/server/portal-auth.server";

export async function loader({ params, context }: LoaderFunctionArgs) {
  const [firm, auth] = await Promise.all([requirePortalFirm(context.db, params.firmSlug), context.auth.portal()]);
  const access = portalAccess(auth, firm.slug);
  return json({
    firm: { name: firm.name, slug: firm.slug },
    signedIn: access.status === "granted",
    hasSession: access.status !== "signed_out",
  });
}

export default function PortalLayout() {
  const { firm, signedIn, hasSession } = useLoaderData<typeof loader>();
  const base = `/portal/${firm.slug}`;
  return (
    <>
      <header className="topbar">
        <nav className="topbar-inner" aria-label="Portal">
          <Link className="brand" to={base}>
            {firm.name} client portal
          </Link>
          {signedIn ? (
            <>
              <Link to={`${base}/requests`}>Requests</Link>
              <Link to={`${base}/account`}>Account</Link>
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
