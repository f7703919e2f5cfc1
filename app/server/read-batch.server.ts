// One D1 round trip per page view (issue 14). A page needs the session, its firm and contact, and the
// page's own rows; Remix runs the layout's and the page's loaders side by side, and each asks for its part.
// Asked separately, that is one round trip each, and for a client far from the database every round trip
// is the distance there and back. `read` gathers the queries asked for while the request's loaders start
// and sends them to D1 as one batch (a batch is one round trip, and one consistent snapshot).
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "./db.server";
import { assertBatchable, bindStatement, isStatement, type Prepared, type Statement } from "./statements.server";

/** A query or a statement (statements.server.ts), as one batch member. */
export type Readable = BatchItem<"sqlite"> | Statement<unknown>;
type ResultOf<T> = T extends Statement<infer R> ? R : Awaited<T>;

export type Read = <T extends Readable>(query: T) => Promise<ResultOf<T>>;

type Pending = { query: Readable; resolve: (value: unknown) => void; reject: (reason: unknown) => void };

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

  return <T extends Readable>(query: T) =>
    new Promise<ResultOf<T>>((resolve, reject) => {
      // A statement was checked when it was built.
      if (!isStatement(query)) assertBatchable(query);
      // A macrotask, not a microtask: loaders start after several awaits inside Remix's router, and
      // all of those are microtasks that run before this timer fires. (workerd's scheduler.wait(0) was
      // tried instead of nodejs_compat's setTimeout: the profiles showed the same cost.)
      if (pending.length === 0) setTimeout(flush, 0);
      pending.push({ query, resolve: resolve as (value: unknown) => void, reject });
    });
}

/**
 * Runs each query on its own: for callers outside a page load (actions, the API, scripts). A statement
 * has no database of its own to run on; it needs a request's reader.
 */
export const direct: Read = (query) => {
  if (isStatement(query)) return Promise.reject(new Error("A statement is read through createReader(db), not direct."));
  return Promise.resolve(query) as never;
};

/**
 * `db.batch(queries)` as drizzle does it, except that raw SQL queries (`db.all(sql)`) with parameters work:
 * drizzle 0.45's D1 batch binds those through a prepared statement they do not have. Each query is built
 * with drizzle, sent as one D1 batch, and each result mapped back by its own query (`_prepare` and
 * `mapResult` are what drizzle's batch itself calls).
 */
async function sendBatch(db: Database, queries: Readable[]): Promise<unknown[]> {
  const built = queries.map((q) => {
    if (isStatement(q)) return bindStatement(q);
    const prepared = (q as unknown as { _prepare(): Prepared })._prepare();
    return { ...prepared.getQuery(), prepared };
  });
  const results = await db.$client.batch(built.map(({ sql, params }) => db.$client.prepare(sql).bind(...params)));
  return built.map(({ prepared }, i) => prepared.mapResult(results[i], true));
}
