import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { Form, Outlet, useLoaderData } from "@remix-run/react";
import { NavLinks } from "~/components/app-link";
import { requireStaff } from "~/server/staff/staff-auth.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { staff, firm } = await requireStaff(request, context);
  return { staff: { name: staff.name, email: staff.email, role: staff.role }, firm: { name: firm.name, slug: firm.slug } };
}

const NAV_LINKS = [
  { to: "/app/contacts", label: "Contacts" },
  { to: "/app/requests", label: "Requests" },
  { to: "/app/settings/client-portal/security", label: "Settings" },
  // Only admins manage the firm's API keys.
  { to: "/app/settings/api-keys", label: "API keys", adminOnly: true },
  { to: "/app/account", label: "Account" },
];
const MEMBER_LINKS = NAV_LINKS.filter((link) => !link.adminOnly);

export default function StaffApp() {
  const { staff, firm } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="topbar">
        <nav className="topbar-inner" aria-label="Main">
          <span className="brand">{firm.name}</span>
          <NavLinks links={staff.role === "admin" ? NAV_LINKS : MEMBER_LINKS} />
          <span className="small" title={staff.email}>
            {staff.name}
            {staff.role === "admin" ? " (admin)" : ""}
          </span>
          <Form method="post" action="/logout">
            <button type="submit">Sign out</button>
          </Form>
        </nav>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}
