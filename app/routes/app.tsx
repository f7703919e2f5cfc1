import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, NavLink, Outlet, useLoaderData } from "@remix-run/react";
import { requireStaff } from "~/server/staff/staff-auth.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { staff, firm } = await requireStaff(request, context);
  return json({ staff: { name: staff.name, email: staff.email, role: staff.role }, firm: { name: firm.name, slug: firm.slug } });
}

export default function StaffApp() {
  const { staff, firm } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="topbar">
        <nav className="topbar-inner" aria-label="Main">
          <span className="brand">{firm.name}</span>
          <NavLink to="/app/contacts">Contacts</NavLink>
          <NavLink to="/app/requests">Requests</NavLink>
          <NavLink to="/app/settings/client-portal/security">Settings</NavLink>
          {staff.role === "admin" ? <NavLink to="/app/settings/api-keys">API keys</NavLink> : null}
          <NavLink to="/app/account">Account</NavLink>
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
