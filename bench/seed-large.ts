// The large firm the benchmark loads: 10,000 contacts, 2,000 portal accounts, 5,000 requests with
// three items each, plus fixed client sessions and an access link so portal targets need no sign-in
// flow of their own. Rows go out as multi-row INSERTs of ROWS_PER_INSERT rows: one statement per row
// would make `wrangler d1 execute` take minutes instead of seconds.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { createHash } from "node:crypto";
import { encryptTotpSecret } from "../app/server/auth/totp.server";
import { MARCUS_TOTP_KEY } from "../db/seed";

export const LARGE_FIRM = {
  id: "firm_large",
  slug: "large",
  name: "Large & Partners",
  adminEmail: "admin@large.test",
  contacts: 10_000,
  portalAccounts: 2_000,
  requests: 5_000,
  itemsPerRequest: 3,
} as const;

const ROWS_PER_INSERT = 200;
const DAY = 24 * 60 * 60_000;

/** Tokens the bench sends as cookies or in links; D1 holds only their SHA-256, as the app does. */
export const BENCH_TOKENS = {
  linkSession: { id: "bench-link-session", secret: "bench-link-secret-0000000000000000000000000" },
  passwordSession: { id: "bench-password-session", secret: "bench-password-secret-00000000000000000000" },
  twoFactorPendingSession: { id: "bench-2fa-session", secret: "bench-2fa-secret-0000000000000000000000000" },
  // The admin's, seeded rather than signed in so the floor's copy of the state holds it too.
  staffSession: { id: "bench-staff-session", secret: "bench-staff-secret-00000000000000000000000" },
  // 43 characters, the length of a real token (32 bytes, base64url).
  accessLink: "bench-access-link-token-0000000000000000000",
} as const;

export function sessionCookieValue(token: { id: string; secret: string }): string {
  return `${token.id}.${token.secret}`;
}

type Value = string | number | null;

function sqlValue(v: Value): string {
  if (v === null) return "NULL";
  if (typeof v === "number") return String(v);
  return `'${v.replace(/'/g, "''")}'`;
}

function multiInsert(table: string, rows: Array<Record<string, Value>>): string[] {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]);
  const statements: string[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const values = rows
      .slice(i, i + ROWS_PER_INSERT)
      .map((row) => `(${columns.map((c) => sqlValue(row[c])).join(", ")})`)
      .join(",\n");
    statements.push(`INSERT INTO ${table} (${columns.join(", ")}) VALUES\n${values};`);
  }
  return statements;
}

function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

const FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena", "Milo", "Noor", "Omar", "Pia", "Raj", "Sara", "Theo", "Uma"];
const LAST = ["Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones", "Khan", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi", "Smith", "Taylor", "Walsh"];

function clientEmail(n: number): string {
  return `client${n}@large-client.test`;
}

export function contactId(n: number): string {
  return `contact_large_${String(n).padStart(5, "0")}`;
}

function accountId(n: number): string {
  return `account_large_${String(n).padStart(5, "0")}`;
}

/** Every fifth contact has a portal account, so filters and joins see a realistic mix. */
function hasAccount(n: number): boolean {
  return n % 5 === 0 && n / 5 < LARGE_FIRM.portalAccounts;
}

/**
 * The large firm as SQL chunks (one per table group), each small enough for one `d1 execute`.
 * `passwordHash` is computed once by the caller: scrypt per row would dominate the seed time.
 */
export async function largeFirmSeedChunks(passwordHash: string, totpKeyBase64: string, now = Date.now()): Promise<string[]> {
  const firmId = LARGE_FIRM.id;
  const chunks: string[] = [];

  chunks.push(
    [
      ...multiInsert("firms", [
        { id: firmId, name: LARGE_FIRM.name, slug: LARGE_FIRM.slug, plan: "business", security_mode: "magic_link_and_login", created_at: now },
      ]),
      ...multiInsert("staff_users", [
        { id: "staff_large_admin", firm_id: firmId, email: LARGE_FIRM.adminEmail, name: "Lara Admin", role: "admin", password_hash: passwordHash, created_at: now },
      ]),
    ].join("\n"),
  );

  const contactRows: Array<Record<string, Value>> = [];
  const accountRows: Array<Record<string, Value>> = [];
  for (let n = 0; n < LARGE_FIRM.contacts; n++) {
    const name = `${FIRST[n % FIRST.length]} ${LAST[Math.floor(n / FIRST.length) % LAST.length]} ${n}`;
    const email = clientEmail(n);
    contactRows.push({ id: contactId(n), firm_id: firmId, name, email, phone: null, created_at: now - n * 60_000 });
    if (hasAccount(n)) {
      accountRows.push({
        id: accountId(n),
        firm_id: firmId,
        contact_id: contactId(n),
        email,
        password_hash: passwordHash,
        totp_secret: null,
        totp_enabled_at: null,
        last_sign_in_at: n % 3 === 0 ? now - (n % 90) * DAY : null,
        created_at: now,
      });
    }
  }
  // Contact 5 gets an authenticator so the 2FA step has an account to ask for a code.
  const twoFactorAccount = accountRows.find((row) => row.contact_id === contactId(5));
  if (twoFactorAccount) {
    const secret = await encryptTotpSecret({ TOTP_ENCRYPTION_KEY: totpKeyBase64 }, firmId, accountId(5), decodeBase32IgnorePadding(MARCUS_TOTP_KEY));
    twoFactorAccount.totp_secret = secret;
    twoFactorAccount.totp_enabled_at = now;
  }
  chunks.push(multiInsert("contacts", contactRows).join("\n"));
  chunks.push(multiInsert("portal_accounts", accountRows).join("\n"));

  const requestRows: Array<Record<string, Value>> = [];
  const itemRows: Array<Record<string, Value>> = [];
  const kinds = ["task", "question", "file"] as const;
  for (let r = 0; r < LARGE_FIRM.requests; r++) {
    // Two requests for each of the first 2,500 contacts: the Details tab of contact 0 lists some.
    const contact = Math.floor(r / 2);
    const requestId = `req_large_${String(r).padStart(5, "0")}`;
    requestRows.push({
      id: requestId,
      firm_id: firmId,
      contact_id: contactId(contact),
      title: `Documents for ${2020 + (r % 6)}`,
      description: "Everything we need for this year's return.",
      due_date: new Date(now + ((r % 60) - 20) * DAY).toISOString().slice(0, 10),
      status: r % 4 === 0 ? "completed" : "open",
      reminder_schedule: "gentle",
      sent_at: now - DAY,
      completed_at: r % 4 === 0 ? now : null,
      created_at: now - 2 * DAY,
    });
    for (let i = 0; i < LARGE_FIRM.itemsPerRequest; i++) {
      itemRows.push({
        id: `item_${requestId}_${i}`,
        request_id: requestId,
        firm_id: firmId,
        kind: kinds[i % kinds.length],
        label: `Item ${i + 1}`,
        position: i,
      });
    }
  }
  chunks.push(multiInsert("requests", requestRows).join("\n"));
  chunks.push(multiInsert("request_items", itemRows).join("\n"));

  // Client sessions and a magic link, stored as the app stores them (SHA-256 of the secret).
  const session = (token: { id: string; secret: string }, kind: string, n: number, extra: Record<string, Value> = {}) => ({
    id: token.id,
    secret_hash: sha256Hex(token.secret),
    kind,
    firm_id: firmId,
    staff_user_id: null,
    portal_account_id: kind === "client_password" ? accountId(n) : null,
    contact_id: contactId(n),
    two_factor_verified_at: null,
    created_at: now,
    last_seen_at: now,
    expires_at: now + DAY,
    ...extra,
  });
  chunks.push(
    [
      ...multiInsert("sessions", [
        session(BENCH_TOKENS.linkSession, "client_link", 1),
        session(BENCH_TOKENS.passwordSession, "client_password", 0),
        session(BENCH_TOKENS.twoFactorPendingSession, "client_password", 5),
      ]),
      ...multiInsert("sessions", [
        {
          ...session(BENCH_TOKENS.staffSession, "staff", 0),
          staff_user_id: "staff_large_admin",
          portal_account_id: null,
          contact_id: null,
          reauthenticated_at: now,
        },
      ]),
      ...multiInsert("access_links", [
        {
          id: "link_large_bench",
          token_hash: sha256Hex(BENCH_TOKENS.accessLink),
          firm_id: firmId,
          contact_id: contactId(2),
          // A link is only good at the address it was sent to (ADR 012): without it, the page was the
          // expired link's.
          sent_to: clientEmail(2),
          purpose: "self_service",
          request_id: null,
          created_at: now,
          expires_at: now + DAY,
        },
      ]),
    ].join("\n"),
  );
  return chunks;
}
