// Contacts of one firm. Every query takes the firm id: a contact id from another firm finds nothing.
import { and, asc, desc, eq, isNotNull, isNull, or, sql, type Placeholder, type SQL } from "drizzle-orm";
import { accessLinks, contacts, portalAccounts } from "../../../db/schema";
import { revokeContactLinks } from "../portal/access-links.server";
import { auditEvent } from "../audit.server";
import { runBatch, type Database } from "../db.server";
import type { RequestMeta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import { firmStatement, revokeContactCredentials, type FirmOf } from "../auth/sessions.server";

export const CONTACTS_PAGE_SIZE = 50;

import type { ContactFilter } from "~/lib/contact-filters";
import { CONTACT_SORTS, DEFAULT_DIRECTION, type ContactSort, type SortDirection } from "~/lib/contact-filters";
import { adoptionStatsSql, adoptionWindow, parseAdoption, type PortalAdoption } from "./adoption.server";
import type { Contact, PortalAccount, Ref } from "../types";
import { direct, type Read } from "../read-batch.server";

export type PortalStatus = "account" | "invited" | "none";

export type ContactRow = {
  id: string;
  name: string;
  email: string;
  company: string | null;
  accountEmail: string | null;
  totpEnabledAt: number | null;
  lastSignInAt: number | null;
  /** When the latest portal invite was sent (purpose "invite" links), if ever. */
  invitedAt: number | null;
  portalStatus: PortalStatus;
};

function filterCondition(filter: ContactFilter) {
  switch (filter) {
    case "has_account":
      return isNotNull(portalAccounts.id);
    case "no_account":
      return isNull(portalAccounts.id);
    case "two_factor_on":
      return isNotNull(portalAccounts.totpEnabledAt);
    case "two_factor_off":
      return and(isNotNull(portalAccounts.id), isNull(portalAccounts.totpEnabledAt));
    default:
      return undefined;
  }
}

const invitedAtSql = sql<number | null>`(SELECT max(${accessLinks.createdAt}) FROM ${accessLinks}
  WHERE ${accessLinks.contactId} = ${contacts.id} AND ${accessLinks.purpose} = 'invite')`;

// Portal status as a number, so it sorts: 2 has a portal account, 1 was invited, 0 neither.
const statusRankSql = sql<number>`(CASE WHEN ${portalAccounts.id} IS NOT NULL THEN 2 WHEN EXISTS (SELECT 1 FROM ${accessLinks}
  WHERE ${accessLinks.contactId} = ${contacts.id} AND ${accessLinks.purpose} = 'invite') THEN 1 ELSE 0 END)`;

/**
 * The sort key of each order. Keys are never NULL (never signed in counts as 0), so one comparison
 * continues a page; ties are broken by name then id, always ascending, so every row has one place.
 */
const SORT_KEYS: Record<Exclude<ContactSort, "name">, SQL<number>> = {
  last_sign_in: sql<number>`coalesce(${portalAccounts.lastSignInAt}, 0)`,
  portal_status: statusRankSql,
};

export type ListOptions = {
  search?: string;
  filter?: ContactFilter;
  sort?: ContactSort;
  dir?: SortDirection;
  after?: string | null;
  limit?: number;
  deleted?: boolean;
};

type Cursor = { key: number | null; name: string; id: string };

/** "name\u0000id" when sorted by name, "key\u0000name\u0000id" otherwise; anything malformed starts at page 1. */
function parseCursor(after: string | null | undefined, sort: ContactSort): Cursor | null {
  if (!after) return null;
  const parts = after.split("\u0000");
  if (sort === "name") return parts.length === 2 ? { key: null, name: parts[0], id: parts[1] } : null;
  if (parts.length !== 3 || !/^\d{1,16}$/.test(parts[0])) return null;
  return { key: Number(parts[0]), name: parts[1], id: parts[2] };
}

/** What decides a list query's SQL text: the page keeps one statement per shape (a few hundred at most). */
type ListShape = { sort: ContactSort; dir: SortDirection; deleted: boolean; search: boolean; filter: ContactFilter; cursor: boolean };

/** A list request's values: taken from `options`, or placeholders when the query is built as a statement. */
type ListValues<V> = { pattern: V; cursor: { key: V; name: V; id: V }; limit: V };

function listRequest(options: ListOptions): { shape: ListShape; values: ListValues<string | number | null>; limit: number } {
  const sort = options.sort && CONTACT_SORTS.includes(options.sort) ? options.sort : "name";
  const search = options.search?.trim();
  const cursor = parseCursor(options.after, sort);
  const limit = options.limit ?? CONTACTS_PAGE_SIZE;
  return {
    shape: { sort, dir: options.dir ?? DEFAULT_DIRECTION[sort], deleted: options.deleted ?? false, search: !!search, filter: options.filter ?? "all", cursor: cursor !== null },
    // drizzle's like() has no ESCAPE clause, so the pattern escapes "_" and "%" (common in emails) itself.
    values: { pattern: search ? `%${search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null, cursor: cursor ?? { key: null, name: null, id: null }, limit: limit + 1 },
    limit,
  };
}

function pageQuery(db: Database, firmId: Ref | Placeholder, shape: ListShape, values: ListValues<unknown>) {
  const { sort, dir } = shape;
  const key = sort === "name" ? null : SORT_KEYS[sort];
  const { cursor } = values;
  const beyond = (column: SQL | typeof contacts.name, value: unknown) => (dir === "asc" ? sql`${column} > ${value}` : sql`${column} < ${value}`);
  // Ties are broken by name then id, always ascending.
  const sameName = and(sql`${contacts.name} = ${cursor.name}`, sql`${contacts.id} > ${cursor.id}`);
  let after: SQL | undefined;
  if (shape.cursor && key === null) {
    after = or(beyond(contacts.name, cursor.name), sameName);
  } else if (shape.cursor && key !== null) {
    after = or(beyond(key, cursor.key), and(sql`${key} = ${cursor.key}`, or(sql`${contacts.name} > ${cursor.name}`, sameName)));
  }
  const order = (column: SQL | typeof contacts.name) => (dir === "asc" ? asc(column) : desc(column));
  const contains = (column: typeof contacts.name | typeof contacts.email) => sql`${column} LIKE ${values.pattern} ESCAPE '\\'`;
  return db
    .select({
      id: sql<string>`${contacts.id}`.as("id"),
      name: sql<string>`${contacts.name}`.as("name"),
      email: sql<string>`${contacts.email}`.as("email"),
      company: sql<string | null>`${contacts.company}`.as("company"),
      accountEmail: sql<string | null>`${portalAccounts.email}`.as("accountEmail"),
      totpEnabledAt: sql<number | null>`${portalAccounts.totpEnabledAt}`.as("totpEnabledAt"),
      lastSignInAt: sql<number | null>`${portalAccounts.lastSignInAt}`.as("lastSignInAt"),
      invitedAt: invitedAtSql.as("invitedAt"),
      sortKey: (key ?? sql<number>`0`).as("sortKey"),
    })
    .from(contacts)
    .leftJoin(portalAccounts, and(eq(portalAccounts.contactId, contacts.id), isNull(portalAccounts.deactivatedAt)))
    .where(
      and(
        sql`${contacts.firmId} = ${firmId}`,
        // Deleted contacts are listed only on their own view, where they can be restored.
        shape.deleted ? isNotNull(contacts.deletedAt) : isNull(contacts.deletedAt),
        shape.search ? or(contains(contacts.name), contains(contacts.email)) : undefined,
        filterCondition(shape.filter),
        after,
      ),
    )
    .orderBy(...(key === null ? [order(contacts.name)] : [order(key), asc(contacts.name)]), asc(contacts.id))
    .limit(values.limit as number);
}

type RawRow = Omit<ContactRow, "portalStatus"> & { sortKey: number };

function toPage(rows: RawRow[], sort: ContactSort, limit: number): { rows: ContactRow[]; next: string | null } {
  // Field by field: the list page's statement brings more columns than a row has (the firm's adoption on
  // every row, the sort key), and whatever a row carries is written into the page for every contact.
  const page = rows.slice(0, limit).map(
    (row): ContactRow => ({
      id: row.id,
      name: row.name,
      email: row.email,
      company: row.company,
      accountEmail: row.accountEmail,
      totpEnabledAt: row.totpEnabledAt,
      lastSignInAt: row.lastSignInAt,
      invitedAt: row.invitedAt,
      portalStatus: row.accountEmail !== null ? "account" : row.invitedAt !== null ? "invited" : "none",
    }),
  );
  const last = rows[limit - 1];
  const next = rows.length > limit && last ? (sort === "name" ? `${last.name}\u0000${last.id}` : `${last.sortKey}\u0000${last.name}\u0000${last.id}`) : null;
  return { rows: page, next };
}

/**
 * One page of contacts with keyset pagination (`after` is the last row's sort key, name and id), so
 * page 200 of 10,000 contacts costs what page 1 costs, in every sort order.
 */
export async function listContacts(db: Database, firmId: string, options: ListOptions = {}): Promise<{ rows: ContactRow[]; next: string | null }> {
  const { shape, values, limit } = listRequest(options);
  return toPage((await pageQuery(db, firmId, shape, values)) as RawRow[], shape.sort, limit);
}

type ListStatement = ReturnType<typeof listStatement>;
const listStatements = new Map<string, ListStatement>();

/**
 * The list page's statement for one shape: the page of contacts and the firm's portal adoption together.
 * The adoption row is on the left of the join so it comes back even when no contact matches.
 */
function listStatement(shape: ListShape) {
  return firmStatement(["start", "since", "pattern", "cursorKey", "cursorName", "cursorId", "limit"], (db, p, firm) => {
    const query = pageQuery(db, firm, shape, { pattern: p.pattern, cursor: { key: p.cursorKey, name: p.cursorName, id: p.cursorId }, limit: p.limit });
    const direction = sql.raw(shape.dir === "asc" ? "ASC" : "DESC");
    const order = shape.sort === "name" ? sql`"page"."name" ${direction}` : sql`"page"."sortKey" ${direction}, "page"."name" ASC`;
    return db.all<RawRow & { adoption: string }>(sql`SELECT "stats"."adoption" AS "adoption", "page".* FROM
    (SELECT ${adoptionStatsSql(firm, p)} AS "adoption") AS "stats"
    LEFT JOIN (${query}) AS "page" ON 1
    ORDER BY ${order}, "page"."id" ASC`);
  });
}

/**
 * The contacts page's one statement: a page of contacts and the firm's portal adoption. `firm` is the
 * staff session's (by its id) or a firm's id.
 */
export async function listContactsWithAdoption(
  read: Read,
  firm: FirmOf,
  options: ListOptions = {},
  now = Date.now(),
): Promise<{ rows: ContactRow[]; next: string | null; adoption: PortalAdoption }> {
  const { shape, values, limit } = listRequest(options);
  const key = JSON.stringify(shape);
  let made = listStatements.get(key);
  if (!made) listStatements.set(key, (made = listStatement(shape)));
  const { pattern, cursor } = values;
  const raw = await read(made(firm, { ...adoptionWindow(now), pattern, cursorKey: cursor.key, cursorName: cursor.name, cursorId: cursor.id, limit: values.limit }));
  const adoption = parseAdoption(raw[0]?.adoption ?? null, now);
  const rows = raw.filter((r) => r.id !== null);
  return { ...toPage(rows, shape.sort, limit), adoption };
}

export type ContactDetails = {
  contact: Contact;
  account: PortalAccount | null;
};

export async function getContact(db: Database, firmId: Ref, contactId: string, read: Read = direct): Promise<ContactDetails | null> {
  // Two single-table reads, batchable with the page's session lookup (read-batch.server.ts).
  const [[contact], [account]] = await Promise.all([
    read(db.select().from(contacts).where(and(eq(contacts.id, contactId), eq(contacts.firmId, firmId))).limit(1)),
    read(db.select().from(portalAccounts).where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, firmId))).limit(1)),
  ]);
  return contact ? { contact, account: account ?? null } : null;
}

type StaffActor = { firm: { id: string }; staff: { id: string; email: string } };

/**
 * Deleting a contact deactivates their portal login (kept, so restoring brings it back), ends their
 * sessions and revokes their links, in one batch with the audit event.
 */
export async function deleteContact(db: Database, kv: KVNamespace, auth: StaffActor, contactId: string, meta: RequestMeta) {
  const now = Date.now();
  await runBatch(db, [
    db.update(contacts).set({ deletedAt: now }).where(and(eq(contacts.id, contactId), eq(contacts.firmId, auth.firm.id))),
    db.update(portalAccounts).set({ deactivatedAt: now }).where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, auth.firm.id))),
    // Ends sessions and voids everything mailed before, for good: restoring the contact brings back the
    // login, not the links and tokens.
    ...revokeContactCredentials(db, contactId),
    ...(await revokeContactLinks(db, kv, contactId, now)),
    auditEvent(db, { firmId: auth.firm.id, type: "contact.deleted", actor: { type: "staff", id: auth.staff.id, label: auth.staff.email }, contactId, ...meta }),
  ]);
}

/**
 * Restoring a contact restores their portal login as it was (password and 2FA included). Refused
 * while another live contact uses the address (one live contact per address, see contact-editing).
 */
export async function restoreContact(
  db: Database,
  auth: StaffActor,
  contactId: string,
  meta: RequestMeta,
): Promise<Result> {
  const inUse = refuse(409, "Another contact of your firm now uses this email. Change or delete that contact first.");
  const [clash] = await db
    .select({ id: sql<string>`other.id` })
    .from(contacts)
    .innerJoin(
      sql`${contacts} AS other`,
      sql`other.firm_id = ${contacts.firmId} AND lower(other.email) = lower(${contacts.email}) AND other.deleted_at IS NULL AND other.id <> ${contacts.id}`,
    )
    .where(and(eq(contacts.id, contactId), eq(contacts.firmId, auth.firm.id)))
    .limit(1);
  if (clash) return inUse;
  try {
    await runBatch(db, [
      db.update(contacts).set({ deletedAt: null }).where(and(eq(contacts.id, contactId), eq(contacts.firmId, auth.firm.id))),
      db.update(portalAccounts).set({ deactivatedAt: null }).where(and(eq(portalAccounts.contactId, contactId), eq(portalAccounts.firmId, auth.firm.id))),
      auditEvent(db, { firmId: auth.firm.id, type: "contact.restored", actor: { type: "staff", id: auth.staff.id, label: auth.staff.email }, contactId, ...meta }),
    ]);
  } catch (error) {
    // A contact with the address was added between the check and the batch.
    if (error instanceof Error && /UNIQUE constraint failed/i.test(`${error.message} ${String(error.cause ?? "")}`)) return inUse;
    throw error;
  }
  return { ok: true };
}
