import { sql, type SQL } from "drizzle-orm";
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
  const entries = Object.entries(row as Record<string, unknown>).filter(([, value]) => value !== undefined);
  const columns = entries.map(([key]) => sql.identifier((table as unknown as Record<string, { name: string }>)[key].name));
  const values = entries.map(([, value]) => sql`${value}`);
  return db.run(sql`INSERT INTO ${table} (${sql.join(columns, sql`, `)}) SELECT ${sql.join(values, sql`, `)} WHERE ${condition}`);
}
