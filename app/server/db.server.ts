import { createTableRelationsHelpers, extractTablesRelationalConfig, getTableColumns, is, SQL, sql } from "drizzle-orm";
import { DrizzleD1Database, SQLiteD1Session } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../../db/schema";

// What drizzle() derives from the schema on every call (issue 14's profile: ~1 ms of CPU per request in
// extractTablesRelationalConfig and its `is` checks). It depends only on the schema, so it is worked out
// once per isolate and shared, and only when a request first uses `db.query` (worked out at start-up it
// cost ~2 ms of every cold start; most isolates serve pages that never use `db.query`).
type SchemaConfig = { fullSchema: typeof schema; schema: Record<string, unknown>; tableNamesMap: Record<string, string> };
let relationalSchema: SchemaConfig | undefined;
function schemaConfig(): SchemaConfig {
  if (!relationalSchema) {
    const relational = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
    relationalSchema = { fullSchema: schema, schema: relational.tables, tableNamesMap: relational.tableNamesMap };
  }
  return relationalSchema;
}
const dialect = new SQLiteAsyncDialect();

/**
 * drizzle(d1, { schema }) without rebuilding the relational schema each time (same construction as
 * drizzle's). `db.query` (a relational query builder for each of the schema's tables, ~0.4 ms of a page
 * view's CPU in issue 14's profile) is built on first use: most page views read only through statements and
 * the read batch, which never touch it. The session is made without the schema: drizzle reads it there
 * only for `db.transaction`, which D1 does not offer (writes that belong together go in one batch).
 */
export function createDb(d1: D1Database) {
  const session = new SQLiteD1Session(d1, dialect, undefined, {});
  // Constructed without the schema so the builders are not made here; `query` is then what drizzle's
  // constructor would have set, on first read. (Drizzle reads `db._` only in that constructor.)
  const db = new DrizzleD1Database("async", dialect, session, undefined) as unknown as DrizzleD1Database<typeof schema> & { $client: D1Database };
  Object.defineProperty(db, "query", {
    configurable: true,
    enumerable: true,
    get() {
      const built = new DrizzleD1Database("async", dialect, session, schemaConfig() as never).query;
      Object.defineProperty(db, "query", { value: built, configurable: true, enumerable: true, writable: true });
      return built;
    },
  });
  db.$client = d1;
  return db;
}

type BenchVars = { ENVIRONMENT?: string; BENCH_D1_DELAY_MS?: string; BENCH_D1_REPLICA_DELAY_MS?: string };

/**
 * `npm run bench -- --distance` only: a local server started with `--var BENCH_D1_DELAY_MS:150` waits that
 * long before each D1 round trip to the primary (a statement outside a batch, or a batch), as a client far
 * from the primary would; with `--var BENCH_D1_REPLICA_DELAY_MS:10` a D1 session that may read a replica
 * (d1-sessions.server.ts) waits that long instead, as if a replica were near. Inert unless ENVIRONMENT is
 * "development" (set by the local scripts with --var, never in wrangler.toml); `npm run check:deploy` proves
 * a deployed bundle ignores the vars.
 */
export function withBenchDistance(d1: D1Database, vars: BenchVars | undefined): D1Database {
  if (vars?.ENVIRONMENT !== "development" || !vars.BENCH_D1_DELAY_MS) return d1;
  const ms = Number(vars.BENCH_D1_DELAY_MS);
  const replicaMs = vars.BENCH_D1_REPLICA_DELAY_MS ? Number(vars.BENCH_D1_REPLICA_DELAY_MS) : ms;
  if (!Number.isFinite(ms) || ms <= 0 || !Number.isFinite(replicaMs) || replicaMs < 0) return d1;
  return delayedD1(d1, ms, replicaMs);
}

/**
 * `d1` with `ms` of simulated distance before each round trip, and `replicaMs` for the round trips of a
 * session opened without "first-primary". Exported for the bench's floor Worker.
 */
export function delayedD1(d1: D1Database, ms: number, replicaMs = ms): D1Database {
  const wait = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));
  // batch() must receive the real statements, so every wrapper remembers what it wraps.
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  function wrap(statement: D1PreparedStatement, delay: number): D1PreparedStatement {
    const proxy = new Proxy(statement, {
      get(target, key) {
        if (key === "bind") return (...params: unknown[]) => wrap(target.bind(...params), delay);
        if (key === "all" || key === "run" || key === "raw" || key === "first") {
          return async (...args: unknown[]) => {
            await wait(delay);
            return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    unwrap.set(proxy, statement);
    return proxy;
  }
  function database<T extends object>(target: T, delay: number): T {
    return new Proxy(target, {
      get(inner, key) {
        const real = inner as unknown as D1Database;
        if (key === "prepare") return (sql: string) => wrap(real.prepare(sql), delay);
        if (key === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            await wait(delay);
            return real.batch(statements.map((s) => unwrap.get(s) ?? s));
          };
        }
        if (key === "exec") {
          return async (sql: string) => {
            await wait(delay);
            return real.exec(sql);
          };
        }
        if (key === "withSession") {
          return (constraint?: string) => database(real.withSession(constraint), constraint === "first-primary" ? ms : replicaMs);
        }
        const value = Reflect.get(inner, key, inner);
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
  }
  return database(d1, ms);
}

export type Database = ReturnType<typeof createDb>;
export { schema };

import type { BatchItem } from "drizzle-orm/batch";

export type Statement = BatchItem<"sqlite">;

/** Writes that belong together go to D1 as one atomic batch. */
export async function runBatch(db: Database, statements: Statement[]): Promise<void> {
  if (statements.length === 0) return;
  await db.batch(statements as [Statement, ...Statement[]]);
}

/**
 * `INSERT INTO table (…) SELECT … WHERE condition`: a row that exists only if the condition holds when
 * the batch runs. Batches are transactions, so writes that must happen only together with a claim
 * (a reminder's day, a request's completion) are made conditional on the claim's own predicate and
 * placed before it in the same batch.
 */
export function insertWhere<T extends SQLiteTable>(db: Database, table: T, row: T["$inferInsert"], condition: SQL): Statement {
  // drizzle's INSERT … SELECT lists every column in table order, so every column gets a value here.
  // (A raw db.run() would read better, but drizzle cannot bind parameters of raw SQL in a D1 batch.)
  const values = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = (row as Record<string, unknown>)[key];
    // A value computed in SQL (e.g. a count taken in the same transaction) goes in as it is.
    if (is(value, SQL)) return value;
    if (value !== undefined) return sql.param(value, column);
    if (column.default !== undefined) return is(column.default, SQL) ? column.default : sql.param(column.default, column);
    return sql`null`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${condition}`);
}
