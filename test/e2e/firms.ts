// Each browser test's own firm: a fresh firm (unique slug) with an admin, a member and contacts with
// portal accounts. Tests that own their data run in any order and in parallel, and never have to put
// a shared demo firm back the way they found it.
//
// This module runs inside the e2e server's worker (test/e2e/worker.ts), so the rows are written by the
// process that serves the app: a second process writing the same local D1 file (`wrangler d1 execute`,
// a platform proxy) meets the server's write lock and fails with SQLITE_BUSY, or makes the server's own
// write fail. Only Web Crypto and worker-safe modules here.
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import type { Plan, SecurityMode } from "../../app/lib/domain";
import { hashPassword } from "../../app/server/auth/passwords.server";
import { encryptTotpSecret } from "../../app/server/auth/totp.server";
import { DEMO_PASSWORD, demoRequestRows } from "../../db/seed";
import type { SqlValue } from "../../db/sql-text";

export const PASSWORD = DEMO_PASSWORD;

/** The e2e server's route that makes a firm (test/e2e/worker.ts); the fixture POSTs FirmOptions to it. */
export const FIXTURE_PATH = "/__e2e/firms";

export type Person = { id: string; name: string; email: string; password: string };
export type FirmContact = {
  id: string;
  name: string;
  email: string;
  /** The portal account, if the contact has one: password sign-in, and a TOTP key if 2FA is on. */
  account: { id: string; password: string; totpKey: string | null } | null;
};
export type E2EFirm = {
  id: string;
  name: string;
  slug: string;
  /** `/portal/<slug>` */
  portal: string;
  admin: Person;
  member: Person;
  contacts: Record<string, FirmContact>;
};

export type ContactSpec = { key: string; name: string; account?: "password" | "totp"; requests?: boolean };
export type FirmOptions = { plan?: Plan; securityMode?: SecurityMode; contacts?: ContactSpec[] };

/**
 * Like the demo's Harbor & Co: a client with a password, one with 2FA on, two without an account; each
 * with the demo's two requests. Four at most, so none of their requests has a reminder due on the day
 * (the demo seed's fifth contact does; the local-cron test counts on that).
 */
export const DEFAULT_CONTACTS: ContactSpec[] = [
  { key: "olivia", name: "Olivia Park", account: "password", requests: true },
  { key: "marcus", name: "Marcus Lee", account: "totp", requests: true },
  { key: "nina", name: "Nina Patel", requests: true },
  { key: "chloe", name: "Chloe Martin", requests: true },
];

// Test data only: every account gets the same password, so its scrypt hash is computed once per isolate.
let passwordHash: Promise<string> | null = null;

function insert(db: D1Database, table: string, row: Record<string, SqlValue>): D1PreparedStatement {
  const columns = Object.keys(row);
  return db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...columns.map((c) => row[c]));
}

/**
 * Writes a new firm in one batch (all of it or none) and returns who is in it. TOTP secrets are
 * encrypted with the server's key and bound to firm and account, as enrolment stores them.
 */
export async function createFirm(db: D1Database, totpKeyBase64: string, options: FirmOptions = {}): Promise<E2EFirm> {
  const tag = crypto.randomUUID().replace(/-/g, "").slice(0, 10);
  const now = Date.now();
  const firmId = `firm_${tag}`;
  const hash = await (passwordHash ??= hashPassword(PASSWORD));
  const firm: E2EFirm = {
    id: firmId,
    name: `Firm ${tag}`,
    slug: `f-${tag}`,
    portal: `/portal/f-${tag}`,
    admin: { id: `staff_${tag}_admin`, name: `Ada Admin ${tag}`, email: `admin.${tag}@staff.test`, password: PASSWORD },
    member: { id: `staff_${tag}_member`, name: `Max Member ${tag}`, email: `member.${tag}@staff.test`, password: PASSWORD },
    contacts: {},
  };
  const statements: D1PreparedStatement[] = [
    insert(db, "firms", {
      id: firm.id,
      name: firm.name,
      slug: firm.slug,
      plan: options.plan ?? "business",
      security_mode: options.securityMode ?? "magic_link_and_login",
      reply_to_email: `office.${tag}@staff.test`,
      created_at: now,
    }),
  ];
  for (const [person, role] of [[firm.admin, "admin"], [firm.member, "member"]] as const) {
    statements.push(
      insert(db, "staff_users", { id: person.id, firm_id: firm.id, email: person.email, name: person.name, role, password_hash: hash, created_at: now }),
    );
  }
  const specs = options.contacts ?? DEFAULT_CONTACTS;
  for (const [index, spec] of specs.entries()) {
    const contact: FirmContact = { id: `contact_${tag}_${spec.key}`, name: spec.name, email: `${spec.key}.${tag}@client.test`, account: null };
    statements.push(insert(db, "contacts", { id: contact.id, firm_id: firm.id, name: contact.name, email: contact.email, created_at: now }));
    if (spec.account) {
      const accountId = `account_${tag}_${spec.key}`;
      const secret = spec.account === "totp" ? crypto.getRandomValues(new Uint8Array(20)) : null;
      contact.account = { id: accountId, password: PASSWORD, totpKey: secret ? encodeBase32UpperCaseNoPadding(secret) : null };
      statements.push(
        insert(db, "portal_accounts", {
          id: accountId,
          firm_id: firm.id,
          contact_id: contact.id,
          email: contact.email,
          password_hash: hash,
          totp_secret: secret ? await encryptTotpSecret({ TOTP_ENCRYPTION_KEY: totpKeyBase64 }, firm.id, accountId, secret) : null,
          totp_enabled_at: secret ? now : null,
          created_at: now,
        }),
      );
    }
    if (spec.requests) for (const { table, row } of demoRequestRows(firm.id, contact.id, now, index)) statements.push(insert(db, table, row));
    firm.contacts[spec.key] = contact;
  }
  await db.batch(statements);
  return firm;
}
