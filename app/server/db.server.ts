import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../../db/schema";

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
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
