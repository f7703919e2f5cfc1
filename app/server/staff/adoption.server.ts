// Portal adoption at a glance (PRODUCT.md "Contacts and onboarding"): how many clients have a portal
// account, how many have 2FA on, who signed in lately and how, and sign-ins by method over 12 weeks.
// Everything is one SQL expression, so a page adds one D1 query (or none, when it rides along with
// another statement, as the contacts list does).
//
// Sign-ins are read from the audit log, where every one is recorded: a claimed (or reopened) access
// link is a sign-in by link; `client.signed_in` carries the factor that completed it ("password" on
// its own, "totp", "recovery_code" or "password+passkey" after the password, "passkey" on its own).
import { sql, type Placeholder, type SQL } from "drizzle-orm";
import { auditEvents, contacts, portalAccounts, webauthnCredentials } from "../../../db/schema";
import { firmStatement, type FirmOf } from "../auth/sessions.server";
import type { Ref } from "../types";
import type { Read } from "../read-batch.server";
import { SIGN_IN_METHODS, type SignInMethod } from "~/lib/adoption";

export const WEEK_MS = 7 * 24 * 60 * 60_000;
export const CHART_WEEKS = 12;
export const RECENT_MS = 30 * 24 * 60 * 60_000;

const SIGN_IN_TYPES = ["client.signed_in", "access_link.claimed", "access_link.reopened"];

export type PortalAdoption = {
  /** Live contacts (not deleted). */
  contacts: number;
  /** Live contacts with an active portal account. */
  accounts: number;
  twoFactor: number;
  /** Live contacts without a login: they would create one (and enrol) under the 2FA mode. */
  withoutAccount: number;
  /** Accounts without 2FA (no app, no passkey): they enrol at their next visit under the 2FA mode. */
  mustEnrol: number;
  /** Distinct clients who signed in within 30 days, in all and by method. */
  recent: { any: number } & Record<SignInMethod, number>;
  /** Oldest first; `start` is the first millisecond of each week. */
  weeks: Array<{ start: number } & Record<SignInMethod, number>>;
};

const methodSql = sql.raw(`(CASE WHEN "type" IN ('access_link.claimed', 'access_link.reopened') THEN 'link'
  WHEN json_extract("detail", '$.factor') = 'password' THEN 'password'
  WHEN json_extract("detail", '$.factor') IN ('totp', 'recovery_code', 'password+passkey') THEN 'password_2fa'
  WHEN json_extract("detail", '$.factor') = 'passkey' THEN 'passkey'
  ELSE 'other' END)`);

/** The window of the chart: 12 whole weeks ending now. */
export function chartStart(now: number): number {
  return now - CHART_WEEKS * WEEK_MS;
}

/** The times the figures are counted from: the chart's first week, and the start of "recent". */
export function adoptionWindow(now: number): { start: number; since: number } {
  return { start: chartStart(now), since: now - RECENT_MS };
}

/**
 * One scalar: a JSON object with every figure. Each subquery is an index search (contacts and
 * portal_accounts by firm, audit_events by firm, type and time), never a full pass over a table.
 * The firm and the window may be placeholders, so the SQL can be a statement built once (issue 14).
 */
export function adoptionStatsSql(firmId: Ref | Placeholder, window: { start: number | Placeholder; since: number | Placeholder }): SQL<string> {
  const { start, since } = window;
  const types = sql.join(
    SIGN_IN_TYPES.map((t) => sql`${t}`),
    sql`, `,
  );
  const signIns = (from: number | Placeholder) =>
    sql`SELECT ${auditEvents.contactId} AS "contact_id", ${auditEvents.at} AS "at", ${methodSql} AS "method" FROM ${auditEvents}
      WHERE ${auditEvents.firmId} = ${firmId} AND ${auditEvents.type} IN (${types}) AND ${auditEvents.at} >= ${from}`;
  const countDistinct = (method: SignInMethod) => sql`count(DISTINCT CASE WHEN "method" = ${method} THEN "contact_id" END)`;
  const byMethod = sql.join(
    SIGN_IN_METHODS.map((method) => sql`${sql.raw(`'${method}'`)}, ${countDistinct(method)}`),
    sql`, `,
  );
  return sql<string>`json_object(
    'contacts', (SELECT count(*) FROM ${contacts} WHERE ${contacts.firmId} = ${firmId} AND ${contacts.deletedAt} IS NULL),
    'accounts', (SELECT count(*) FROM ${portalAccounts} INNER JOIN ${contacts} ON ${contacts.id} = ${portalAccounts.contactId}
      WHERE ${portalAccounts.firmId} = ${firmId} AND ${portalAccounts.deactivatedAt} IS NULL AND ${contacts.deletedAt} IS NULL),
    'twoFactor', (SELECT count(*) FROM ${portalAccounts} INNER JOIN ${contacts} ON ${contacts.id} = ${portalAccounts.contactId}
      WHERE ${portalAccounts.firmId} = ${firmId} AND ${portalAccounts.deactivatedAt} IS NULL AND ${contacts.deletedAt} IS NULL
      AND (${portalAccounts.totpEnabledAt} IS NOT NULL
        OR EXISTS (SELECT 1 FROM ${webauthnCredentials} WHERE ${webauthnCredentials.portalAccountId} = ${portalAccounts.id}))),
    'recent', (SELECT json_object('any', count(DISTINCT "contact_id"), ${byMethod})
      FROM (${signIns(since)})),
    'weeks', (SELECT json_group_array(json_array("week", "method", "n")) FROM
      (SELECT CAST(("at" - ${start}) / ${WEEK_MS} AS INTEGER) AS "week", "method", count(*) AS "n" FROM (${signIns(start)}) GROUP BY 1, 2))
  )`;
}

function perMethod(count: (method: SignInMethod) => number): Record<SignInMethod, number> {
  return Object.fromEntries(SIGN_IN_METHODS.map((method) => [method, count(method)])) as Record<SignInMethod, number>;
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

export function parseAdoption(json: string | null, now: number): PortalAdoption {
  const raw = (json ? JSON.parse(json) : {}) as {
    contacts?: number;
    accounts?: number;
    twoFactor?: number;
    recent?: Record<string, number>;
    weeks?: Array<[number, string, number]>;
  };
  const start = chartStart(now);
  const weeks = Array.from({ length: CHART_WEEKS }, (_, i) => ({ start: start + i * WEEK_MS, ...perMethod(() => 0) }));
  for (const [week, method, n] of raw.weeks ?? []) {
    // D1 may bind numbers as REAL; the SQL casts, and so does this, so a week is always an index.
    const bucket = weeks[Math.min(Math.max(Math.floor(Number(week)) || 0, 0), CHART_WEEKS - 1)];
    if (bucket && (SIGN_IN_METHODS as readonly string[]).includes(method)) bucket[method as SignInMethod] += count(n);
  }
  const contactsCount = count(raw.contacts);
  const accounts = count(raw.accounts);
  const twoFactor = count(raw.twoFactor);
  const recent = raw.recent ?? {};
  return {
    contacts: contactsCount,
    accounts,
    twoFactor,
    withoutAccount: Math.max(0, contactsCount - accounts),
    mustEnrol: Math.max(0, accounts - twoFactor),
    recent: { any: count(recent.any), ...perMethod((method) => count(recent[method])) },
    weeks,
  };
}

const adoptionOf = firmStatement(["start", "since"], (db, p, firm) => db.get<{ adoption: string }>(sql`SELECT ${adoptionStatsSql(firm, p)} AS "adoption"`));

/**
 * The figures on their own (the Security and Two-Factor page): one D1 query. `firm` is a staff session's
 * (by its id, in that page's round trip) or a firm's id.
 */
export async function portalAdoption(read: Read, firm: FirmOf, now = Date.now()): Promise<PortalAdoption> {
  const row = await read(adoptionOf(firm, adoptionWindow(now)));
  return parseAdoption(row?.adoption ?? null, now);
}
