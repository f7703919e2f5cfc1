// One D1 round trip per page view (issue 14). A page needs the session, its firm and contact, and the
// page's own rows; Remix runs the layout's and the page's loaders side by side, and each asks for its part.
// Asked separately, that is one round trip each, and for a client far from the database every round trip
// is the distance there and back. `read` gathers the queries asked for while the request's loaders start
// and sends them to D1 as one batch (a batch is one round trip, and one consistent snapshot).
import { Column, is, SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "./db.server";

export type Read = <T extends BatchItem<"sqlite">>(query: T) => Promise<Awaited<T>>;

type Pending = { query: BatchItem<"sqlite">; resolve: (value: unknown) => void; reject: (reason: unknown) => void };

/**
 * A reader for one request. Queries passed to `read` before the next macrotask go out together: Remix
 * calls every matched loader without waiting on I/O in between, so the loaders' first queries (the
 * session lookup and the page's data) meet in one batch. A query asked for later (a loader's second,
 * dependent query) starts the next batch: slower, never wrong.
 */
export function createReader(db: Database): Read {
  let pending: Pending[] = [];

  async function flush() {
    const queries = pending;
    pending = [];
    try {
      const results = await sendBatch(db, queries.map((p) => p.query));
      queries.forEach((p, i) => p.resolve(results[i]));
    } catch (error) {
      // A batch fails as a whole (it is one transaction); every query in it sees the error.
      for (const p of queries) p.reject(error);
    }
  }

  return <T extends BatchItem<"sqlite">>(query: T) =>
    new Promise<Awaited<T>>((resolve, reject) => {
      const clash = repeatedColumn(query);
      if (clash) throw new Error(`A batched query returns two columns named "${clash}": alias one, or read the tables separately.`);
      // A macrotask, not a microtask: loaders start after several awaits inside Remix's router, and
      // all of those are microtasks that run before this timer fires.
      if (pending.length === 0) setTimeout(flush, 0);
      pending.push({ query, resolve: resolve as (value: unknown) => void, reject });
    });
}

/** Runs each query on its own: for callers outside a page load (actions, the API, scripts). */
export const direct: Read = (query) => Promise.resolve(query) as never;

type Prepared = { getQuery(): { sql: string; params: unknown[] }; mapResult(result: unknown, isFromBatch?: boolean): unknown };

/**
 * `db.batch(queries)` as drizzle does it, except that raw SQL queries (`db.all(sql)`) with parameters work:
 * drizzle 0.45's D1 batch binds those through a prepared statement they do not have. Each query is built
 * with drizzle, sent as one D1 batch, and each result mapped back by its own query (`_prepare` and
 * `mapResult` are what drizzle's batch itself calls).
 */
async function sendBatch(db: Database, queries: BatchItem<"sqlite">[]): Promise<unknown[]> {
  const prepared = queries.map((q) => (q as unknown as { _prepare(): Prepared })._prepare());
  const statements = prepared.map((p) => {
    const { sql, params } = p.getQuery();
    return db.$client.prepare(sql).bind(...params);
  });
  const results = await db.$client.batch(statements);
  return prepared.map((p, i) => p.mapResult(results[i], true));
}

/**
 * D1 returns a batch's rows as objects, so a query selecting two columns of the same name (a join of two
 * tables with `id`) loses one and drizzle maps the rest to the wrong fields, silently. Such a query is
 * refused here, where a test sees it, instead of reading wrong data. Returns the repeated name, if any.
 */
function repeatedColumn(query: unknown): string | null {
  const fields = (query as { config?: { fields?: unknown } }).config?.fields;
  if (!fields || typeof fields !== "object") return null;
  const seen = new Set<string>();
  const visit = (value: unknown): string | null => {
    let name: string | null = null;
    if (is(value, Column)) name = value.name;
    else if (is(value, SQL.Aliased)) name = value.fieldAlias;
    else if (is(value, SQL)) return null;
    else if (value && typeof value === "object") {
      for (const inner of Object.values(value)) {
        const found = visit(inner);
        if (found) return found;
      }
      return null;
    }
    if (name === null) return null;
    if (seen.has(name)) return name;
    seen.add(name);
    return null;
  };
  return visit(fields);
}
