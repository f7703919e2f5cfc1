// The access report: every contact with their portal account and 2FA state, as the list shows them.
import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { CONTACT_FILTERS } from "~/lib/contact-filters";
import { listContacts } from "~/server/staff/contacts.server";
import { csvResponse, toCsv } from "~/server/csv.server";
import { requireStaff } from "~/server/staff/staff-auth.server";

const query = z.object({
  q: z.string().max(100).optional().catch(undefined),
  filter: z.enum(CONTACT_FILTERS).optional().catch(undefined),
});

const PAGE = 1_000;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { firm } = await requireStaff(request, context);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const rows: unknown[][] = [];
  let after: string | null = null;
  // Pages of 1,000 keep each D1 query small; 10,000 contacts is ten queries.
  do {
    const page = await listContacts(context.db, firm.id, { search: params.q, filter: params.filter, after, limit: PAGE });
    for (const c of page.rows) {
      rows.push([
        c.name,
        c.email,
        c.accountEmail ? "yes" : "no",
        c.accountEmail ?? "",
        c.accountEmail ? (c.totpEnabledAt ? "on" : "off") : "",
        c.totpEnabledAt ? new Date(c.totpEnabledAt).toISOString() : "",
        c.lastSignInAt ? new Date(c.lastSignInAt).toISOString() : "",
      ]);
    }
    after = page.next;
  } while (after);
  const body = toCsv(["name", "email", "portal_account", "login_email", "two_factor", "two_factor_since", "last_sign_in"], rows);
  return csvResponse(`portal-access-${firm.slug}.csv`, body);
}
