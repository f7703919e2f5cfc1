// SQL text for `wrangler d1 execute --file/--command`, which has no way to bind parameters. Every value
// reaches the text through `literal`, which quotes it, so no value can end its string and become SQL.
// Used by the demo seed, the browser tests' firm fixture and the `firm:plan` operator command.

export type SqlValue = string | number | boolean | null;

/** One value as an SQLite literal: strings quoted (a quote doubled), numbers as digits, NULL. */
export function literal(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`not an SQL number: ${value}`);
    return String(value);
  }
  if (typeof value !== "string") throw new Error(`not an SQL value: ${typeof value}`);
  // SQLite ends a string at a NUL byte when it reads SQL text.
  if (value.includes("\0")) throw new Error("an SQL string cannot hold a NUL character");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A tagged template: sql`UPDATE firms SET plan = ${plan} WHERE slug = ${slug};` quotes each value. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): string {
  return strings.reduce((text, part, i) => text + literal(values[i - 1]) + part);
}

/** A table or column name written by the code itself, never by input. */
function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not an SQL identifier: ${name}`);
  return name;
}

/** INSERT OR IGNORE of one row: applying the same SQL twice changes nothing. */
export function insertOrIgnore(table: string, row: Record<string, SqlValue>): string {
  const columns = Object.keys(row);
  return `INSERT OR IGNORE INTO ${identifier(table)} (${columns.map(identifier).join(", ")}) VALUES (${columns.map((c) => literal(row[c])).join(", ")});`;
}
