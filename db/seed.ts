// Demo data for local development (PRODUCT.md "Demo data"). Produces SQL with fixed ids and
// INSERT OR IGNORE, so applying it twice changes nothing. Never applied outside local D1.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { hashPassword } from "../app/server/auth/passwords.server";
import { encryptTotpSecret } from "../app/server/auth/totp.server";
import { insertOrIgnore as insert, type SqlValue } from "./sql-text";

export const DEMO_PASSWORD = "demo-password-2026";
export const MARCUS_TOTP_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

const DAY = 24 * 60 * 60_000;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export type SeedRow = { table: string; row: Record<string, SqlValue> };

/**
 * A contact's two demo requests with their items, as rows: the seed writes them as SQL text, the browser
 * tests' firm fixture inserts them with bound parameters. The i-th contact's are due in 10+i and 3+i days.
 */
export function demoRequestRows(firmId: string, contactId: string, now: number, index: number): SeedRow[] {
  const rows: SeedRow[] = [];
  const requests = [
    { key: "docs", title: "2025 tax return documents", description: "Everything we need to prepare your 2025 return.", due: now + (10 + index) * DAY },
    { key: "bank", title: "Bank statements for Q3", description: "Statements for every business account, July to September.", due: now + (3 + index) * DAY },
  ];
  for (const r of requests) {
    const requestId = `req_${contactId}_${r.key}`;
    rows.push({
      table: "requests",
      row: {
        id: requestId,
        firm_id: firmId,
        contact_id: contactId,
        title: r.title,
        description: r.description,
        due_date: isoDate(r.due),
        status: "open",
        reminder_schedule: "gentle",
        sent_at: now - DAY,
        created_at: now - 2 * DAY,
      },
    });
    const items: Array<[string, string]> =
      r.key === "docs"
        ? [
            ["task", "Confirm your address has not changed"],
            ["question", "Did you sell any shares or property this year?"],
            ["file", "Upload your P60 or final payslip"],
          ]
        : [
            ["file", "Upload the statements (PDF)"],
            ["question", "Which accounts are business accounts?"],
          ];
    items.forEach(([kind, label], position) => {
      rows.push({
        table: "request_items",
        row: {
          id: `item_${requestId}_${position}`,
          request_id: requestId,
          firm_id: firmId,
          kind,
          label,
          position,
        },
      });
    });
  }
  return rows;
}

export async function demoSeedSql(totpKeyBase64: string, now = Date.now()): Promise<string> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const sql: string[] = [];
  const firms = [
    {
      id: "firm_harbor",
      name: "Harbor & Co",
      slug: "harbor",
      plan: "business",
      replyTo: "hello@harbor.test",
      staff: [
        { id: "staff_harbor_admin", email: "admin@harbor.test", name: "Hannah Admin", role: "admin" },
        { id: "staff_harbor_member", email: "staff@harbor.test", name: "Sam Staff", role: "member" },
      ],
      contacts: [
        { key: "olivia", name: "Olivia Park", account: "password" },
        { key: "marcus", name: "Marcus Lee", account: "totp" },
        { key: "nina", name: "Nina Patel", account: null },
        { key: "ben", name: "Ben Carter", account: null },
        { key: "chloe", name: "Chloe Martin", account: null },
        { key: "diego", name: "Diego Alvarez", account: null },
      ],
    },
    {
      id: "firm_northwind",
      name: "Northwind Tax",
      slug: "northwind",
      plan: "team",
      replyTo: "office@northwind.test",
      staff: [{ id: "staff_northwind_admin", email: "admin@northwind.test", name: "Noor Admin", role: "admin" }],
      contacts: [
        { key: "oscar", name: "Oscar Reyes", account: "password" },
        { key: "priya", name: "Priya Shah", account: null },
        { key: "quinn", name: "Quinn Baker", account: null },
      ],
    },
  ] as const;

  let index = 0;
  for (const firm of firms) {
    sql.push(
      insert("firms", {
        id: firm.id,
        name: firm.name,
        slug: firm.slug,
        plan: firm.plan,
        security_mode: "magic_link_and_login",
        // Clients' replies to the firm's emails go here, not to the sending address.
        reply_to_email: firm.replyTo,
        created_at: now,
      }),
    );
    for (const s of firm.staff) {
      sql.push(insert("staff_users", { id: s.id, firm_id: firm.id, email: s.email, name: s.name, role: s.role, password_hash: passwordHash, created_at: now }));
    }
    for (const c of firm.contacts) {
      const contactId = `contact_${firm.slug}_${c.key}`;
      const email = `${c.key}@client.test`;
      sql.push(insert("contacts", { id: contactId, firm_id: firm.id, name: c.name, email, created_at: now }));
      if (c.account) {
        const accountId = `account_${firm.slug}_${c.key}`;
        const totp =
          c.account === "totp" ? await encryptTotpSecret({ TOTP_ENCRYPTION_KEY: totpKeyBase64 }, firm.id, accountId, decodeBase32IgnorePadding(MARCUS_TOTP_KEY)) : null;
        sql.push(
          insert("portal_accounts", {
            id: accountId,
            firm_id: firm.id,
            contact_id: contactId,
            email,
            password_hash: passwordHash,
            totp_secret: totp,
            totp_enabled_at: totp ? now : null,
            created_at: now,
          }),
        );
      }
      sql.push(...demoRequestRows(firm.id, contactId, now, index++).map((r) => insert(r.table, r.row)));
    }
  }
  return sql.join("\n") + "\n";
}
