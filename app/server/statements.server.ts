// Statements built once per isolate (issue 14, ADR 021). drizzle turns a query into SQL text each time it
// runs one: it walks the query, checks every part's kind and joins the text. For the reads every page view
// makes (the session lookups, the firm of a portal URL) and the busiest pages' own reads, that was about a
// fifth of the Worker's own CPU per page in the bench's profile (`npm run bench -- --hot`). A statement is
// written as the same drizzle query with placeholders where the request's values go. Its SQL text and its
// result mapping are built on first use and kept for the isolate's life; a request only fills in its
// values. `read` (read-batch.server.ts) sends statements in the request's batch like any query and maps
// their rows as drizzle would; `runAlone` runs one that cannot be batched.
import { Column, fillPlaceholders, is, SQL, sql, type Placeholder } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDb, type Database } from "./db.server";

/** What drizzle's D1 batch itself calls on a query: its SQL and parameters, and how to map its rows. */
export type Prepared = { getQuery(): { sql: string; params: unknown[] }; mapResult(result: unknown, isFromBatch?: boolean): unknown };

/** `alone`: a statement that must run outside a batch (`runAlone`), such as a join with same-named columns. */
type Compiled = { sql: string; params: unknown[]; prepared: Prepared; alone: boolean };

// Symbol.for: a module loaded twice (a test importing it by another path) must still know its statements.
const COMPILED = Symbol.for("client-portal.compiled-statement");

/** One use of a statement: its compiled form and this request's values. `R` is what reading it returns. */
export type Statement<R> = { readonly [COMPILED]: Compiled; readonly values: Record<string, unknown>; readonly result?: R };

export function isStatement(query: unknown): query is Statement<unknown> {
  return typeof query === "object" && query !== null && COMPILED in query;
}

/** The SQL, parameters and row mapper for one use of a statement. Throws when a value is missing. */
export function bindStatement(statement: Statement<unknown>): { sql: string; params: unknown[]; prepared: Prepared } {
  const compiled = statement[COMPILED];
  if (compiled.alone) throw new Error("This statement returns same-named columns: run it with runAlone, not in a batch.");
  return { sql: compiled.sql, params: fillPlaceholders(compiled.params, statement.values), prepared: compiled.prepared };
}

/**
 * A database to build statements with, never to run them: it has no connection. drizzle prepares a D1
 * statement when it builds a query, so `prepare` answers with one that refuses to run.
 */
function shapeDatabase(): Database {
  const refuse = () => {
    throw new Error("A statement runs through a request's reader (read-batch.server.ts), not on its shape database.");
  };
  const notRunnable = { bind: refuse, all: refuse, raw: refuse, run: refuse, first: refuse };
  return createDb({ prepare: () => notRunnable, batch: refuse, exec: refuse, dump: refuse, withSession: refuse } as unknown as D1Database);
}

let shapes: Database | undefined;

/**
 * A statement: `build` writes the query with `p.<name>` for each of `names` where a request's value goes,
 * and is called once.
 * Values for placeholders are bound as they are given (drizzle applies no column encoding to them), so
 * they are text or numbers as stored. A query `read` could not map (see `repeatedColumn`) is refused
 * when it is built, where any test that reads it sees it.
 */
export function statement<V extends string, Q extends BatchItem<"sqlite">>(
  names: readonly V[],
  build: (db: Database, p: Record<V, Placeholder>) => Q,
  options: { alone?: boolean } = {},
): (values: Record<V, unknown>) => Statement<Awaited<Q>> {
  let compiled: Compiled | undefined;
  return (values) => {
    if (!compiled) {
      shapes ??= shapeDatabase();
      const query = build(shapes, Object.fromEntries(names.map((name) => [name, sql.placeholder(name)])) as unknown as Record<V, Placeholder>);
      if (!options.alone) assertBatchable(query);
      const prepared = (query as unknown as { _prepare(): Prepared })._prepare();
      compiled = { ...prepared.getQuery(), prepared, alone: options.alone ?? false };
    }
    return { [COMPILED]: compiled, values };
  };
}

/**
 * A statement made with `{ alone: true }`, run on its own: D1 returns its rows as arrays, so a join whose
 * tables share column names (`id`) maps each column to its own field, as drizzle's own `.all()` does.
 */
export async function runAlone<R>(db: Database, statement: Statement<R>): Promise<R> {
  const compiled = statement[COMPILED];
  if (!compiled.alone) throw new Error("runAlone is for statements made with { alone: true }; read the others in the request's batch.");
  const rows = await db.$client
    .prepare(compiled.sql)
    .bind(...fillPlaceholders(compiled.params, statement.values))
    .raw();
  return compiled.prepared.mapResult(rows, false) as R;
}

/** Throws for a query `read` could not map (see `repeatedColumn`). */
export function assertBatchable(query: unknown): void {
  const clash = repeatedColumn(query);
  if (clash) throw new Error(`A batched query returns two columns named "${clash}": alias one, or read the tables separately.`);
}

/**
 * D1 returns a batch's rows as objects, so a query selecting two columns of the same name (a join of two
 * tables with `id`) loses one and drizzle maps the rest to the wrong fields, silently. Such a query is
 * refused when it is read or built, where a test sees it, instead of reading wrong data. Returns the
 * repeated name, if any.
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
