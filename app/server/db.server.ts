import { drizzle } from "drizzle-orm/d1";
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
