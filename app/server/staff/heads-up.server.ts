// The heads-up an admin may send while reviewing a switch to "Magic link + Login 2FA": every client
// who will have to create a login or set up an authenticator app at their next visit is told first.
// Written to the outbox with its one audit event (the count) in one D1 batch, whatever the firm's size:
// the rows travel as JSON parameters, HEADS_UP_ROWS_PER_STATEMENT to a statement, so no statement
// passes D1's 100 bound parameters and 10,000 clients are about 100 statements, not 10,000.
import { and, eq, getTableColumns, is, isNull, or, sql, SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { contacts, outbox, portalAccounts, webauthnCredentials } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { outboxRow, type EmailMessage } from "../outbox.server";
import { consumeMany, LIMITS } from "../rate-limit.server";
import type { StaffAuth } from "./staff-auth.server";
import type { RequestMeta } from "../request-meta.server";

const HEADS_UP_ROWS_PER_STATEMENT = 100;
const RATE_LIMIT_KEYS_PER_STATEMENT = 1_000;

function headsUpEmail(firm: { id: string; name: string; slug: string }, appUrl: string, to: string, name: string, hasLogin: boolean): EmailMessage {
  const portal = `${appUrl.replace(/\/$/, "")}/portal/${firm.slug}`;
  return {
    firmId: firm.id,
    to,
    subject: `${firm.name} will ask for two-factor authentication`,
    text: [
      `Hello ${name.split(" ")[0] || name},`,
      "",
      `${firm.name} is turning on two-factor authentication for its client portal, to keep your documents safe.`,
      hasLogin
        ? "At your next sign-in you will be asked to set up an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password or similar). It takes a minute."
        : "The next time you open a portal link you will create a login with a password and set up an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password or similar).",
      "",
      `About two-factor authentication: ${portal}/help/two-factor`,
      "",
      "There is nothing to do now. This email has no link to sign in with: if one ever asks for your code, do not give it.",
    ].join("\n"),
  };
}

/** `INSERT INTO table SELECT … FROM json_each(?)`: many rows for one bound parameter per statement. */
function insertRowsFromJson<T extends SQLiteTable>(db: Database, table: T, rows: Array<T["$inferInsert"]>): Statement {
  const columns = Object.entries(getTableColumns(table));
  const filled = rows.map((row) =>
    Object.fromEntries(
      columns.map(([key, column]) => {
        const value = (row as Record<string, unknown>)[key];
        if (value !== undefined) return [key, value];
        return [key, column.default !== undefined && !is(column.default, SQL) ? column.default : null];
      }),
    ),
  );
  // Keys are the schema's own property names (identifiers), so they can sit in the JSON paths.
  const values = columns.map(([key]) => sql.raw(`json_extract(value, '$.${key}')`));
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} FROM json_each(${JSON.stringify(filled)})`);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Clients the 2FA mode would stop at their next visit: live contacts without a login, or without 2FA. */
export async function headsUpAudience(db: Database, firmId: string) {
  return db
    .select({ name: contacts.name, email: contacts.email, loginEmail: portalAccounts.email })
    .from(contacts)
    .leftJoin(portalAccounts, and(eq(portalAccounts.contactId, contacts.id), isNull(portalAccounts.deactivatedAt)))
    .where(
      and(
        eq(contacts.firmId, firmId),
        isNull(contacts.deletedAt),
        // A passkey is a second factor too (PRODUCT.md "Passkeys"): its owner is not stopped.
        or(isNull(portalAccounts.id), and(isNull(portalAccounts.totpEnabledAt), sql`NOT EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.portalAccountId} = ${portalAccounts.id})`)),
      ),
    );
}

export async function sendTwoFactorHeadsUp(
  db: Database,
  env: Env,
  auth: StaffAuth,
  meta: RequestMeta,
  now = Date.now(),
): Promise<{ emailed: number; skipped: number }> {
  const audience = await headsUpAudience(db, auth.firm.id);
  const addressOf = (r: (typeof audience)[number]) => r.loginEmail ?? r.email;
  // The per-address email limit holds here too: pressing the button twice does not flood anyone.
  const allowed = new Set<string>();
  for (const part of chunks(audience, RATE_LIMIT_KEYS_PER_STATEMENT)) {
    for (const address of await consumeMany(db, LIMITS.emailPerAddress, part.map(addressOf), now)) allowed.add(address);
  }
  const recipients = audience.filter((r) => allowed.has(addressOf(r)));
  const rows = recipients.map((r) => outboxRow(headsUpEmail(auth.firm, env.APP_URL, addressOf(r), r.name, r.loginEmail !== null), now));
  await runBatch(db, [
    ...chunks(rows, HEADS_UP_ROWS_PER_STATEMENT).map((part) => insertRowsFromJson(db, outbox, part)),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "firm.two_factor_heads_up_sent",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      detail: { count: recipients.length, skipped: audience.length - recipients.length },
      ...meta,
      at: now,
    }),
  ]);
  return { emailed: recipients.length, skipped: audience.length - recipients.length };
}
