// Key rotation (docs/decisions/017): which key ids the stored values use, and re-encryption of
// everything that can be re-encrypted under the current key. Used by `npm run keys:reencrypt`, which
// talks to D1 through `wrangler d1 execute` (local or remote) and so can only send SQL text: this module
// builds that text (values quoted by db/sql-text) and reads plain result rows, behind a `SqlRunner`.
// The tests give it the worker's own D1 binding.
//
// What moves: TOTP secrets (staff and clients) and the sealed links of queued outbox messages, both under
// TOTP_ENCRYPTION_KEY. What cannot: recovery-code hashes (HMACs of codes nobody stores), so they are
// only counted; their retired key stays until those codes are used or replaced.
// Table and column names below are this module's constants, never input; every value goes through `literal`.
import { literal } from "../../db/sql-text";
import { decryptTotpSecret, encryptTotpSecret } from "./auth/totp.server";
import { totpKeyring, type TotpKeys } from "./keyring.server";
import { openSecret, sealSecret } from "./outbox-sealing.server";

/** Runs SQL statements (one batch) and gives each statement's result rows, in order. */
export type SqlRunner = (statements: string[]) => Promise<Array<Array<Record<string, unknown>>>>;

type StoredRow = { id: string; firm_id: string | null; value: string };

/** A column holding values under TOTP_ENCRYPTION_KEY, and how one of its values is opened and sealed again. */
type Target = {
  label: string;
  table: "staff_users" | "portal_accounts" | "outbox";
  column: "totp_secret" | "sealed_secret";
  reseal(keys: TotpKeys, row: StoredRow): Promise<string | null>;
};

async function resealTotp(keys: TotpKeys, row: StoredRow): Promise<string | null> {
  const secret = await decryptTotpSecret(keys, row.firm_id ?? "", row.id, row.value);
  return secret ? encryptTotpSecret(keys, row.firm_id ?? "", row.id, secret) : null;
}

export const REENCRYPT_TARGETS: readonly Target[] = [
  { label: "staff TOTP secrets", table: "staff_users", column: "totp_secret", reseal: resealTotp },
  { label: "client TOTP secrets", table: "portal_accounts", column: "totp_secret", reseal: resealTotp },
  {
    label: "sealed links of queued emails",
    table: "outbox",
    column: "sealed_secret",
    async reseal(keys, row) {
      const link = await openSecret(keys, row.id, row.value);
      return link === null ? null : sealSecret(keys, row.id, link);
    },
  },
];

/** The key id of a stored value, in SQL: `k2:…` gives k2; values from before key ids (no `:`) were made with k0. */
function keyIdOf(column: string): string {
  return `CASE WHEN ${column} GLOB 'k[0-9]*:*' THEN substr(${column}, 1, instr(${column}, ':') - 1) ELSE 'k0' END`;
}

export type KeyUsage = {
  /** TOTP secrets (staff and clients) and sealed outbox links: under TOTP_ENCRYPTION_KEY. */
  encrypted: Record<string, number>;
  /** Unused recovery codes, and the accounts holding them, per RECOVERY_CODE_KEY id. */
  recoveryCodes: Record<string, { codes: number; accounts: number }>;
};

/** How many stored values each key id protects: a retired key may go when nothing uses it any more. */
export async function keyUsage(run: SqlRunner): Promise<KeyUsage> {
  const encrypted = REENCRYPT_TARGETS.map((t) => `SELECT ${keyIdOf(t.column)} AS key_id FROM ${t.table} WHERE ${t.column} IS NOT NULL`);
  const [rows] = await run([
    `SELECT 'encrypted' AS kind, key_id, count(*) AS n, 0 AS holders FROM (${encrypted.join(" UNION ALL ")}) GROUP BY key_id
     UNION ALL
     SELECT 'recovery' AS kind, ${keyIdOf("code_hash")} AS key_id, count(*) AS n, count(DISTINCT portal_account_id) AS holders
     FROM recovery_codes WHERE used_at IS NULL GROUP BY 2
     ORDER BY kind, key_id;`,
  ]);
  const usage: KeyUsage = { encrypted: {}, recoveryCodes: {} };
  for (const row of rows) {
    const keyId = String(row.key_id);
    if (row.kind === "encrypted") usage.encrypted[keyId] = Number(row.n);
    else usage.recoveryCodes[keyId] = { codes: Number(row.n), accounts: Number(row.holders) };
  }
  return usage;
}

/**
 * Values already under the current key id must open with the given current key. A mismatch means the
 * keys given to the script are not the ones the worker uses (same id, other key): re-encrypting with them
 * would lock everyone out, so the caller stops. Returns how many such values were checked.
 */
export async function checkCurrentKey(run: SqlRunner, keys: TotpKeys, sample = 5): Promise<{ checked: number; failed: number }> {
  const { current } = totpKeyring(keys);
  const prefix = `${current.id}:`;
  const results = await run(
    REENCRYPT_TARGETS.map(
      ({ table, column }) =>
        `SELECT id, firm_id, ${column} AS value FROM ${table} WHERE substr(${column}, 1, ${prefix.length}) = ${literal(prefix)} LIMIT ${Math.trunc(sample)};`,
    ),
  );
  let checked = 0;
  let failed = 0;
  for (const [i, rows] of results.entries()) {
    for (const row of rows as StoredRow[]) {
      checked++;
      if ((await REENCRYPT_TARGETS[i].reseal(keys, row)) === null) failed++;
    }
  }
  return { checked, failed };
}

export type ReencryptCount = { label: string; reencrypted: number; unreadable: number; changedMeanwhile: number };

/**
 * Rewrites every value of every target that is not under the current key, `batchSize` rows per round
 * trip. Each UPDATE applies only if the row still holds the value that was read (a client who re-enrols,
 * or an email delivered meanwhile, wins). Idempotent and resumable: values already under the current key
 * are never selected, so a second run (or a run after an interruption) does only what is left. Values that
 * do not open (their key id is not configured, or the row was tampered with) are counted and left as they are.
 */
export async function reencryptAll(
  run: SqlRunner,
  keys: TotpKeys,
  batchSize = 50,
  onProgress?: (count: ReencryptCount) => void,
): Promise<ReencryptCount[]> {
  const { current } = totpKeyring(keys);
  const prefix = `${current.id}:`;
  const counts: ReencryptCount[] = [];
  for (const target of REENCRYPT_TARGETS) {
    const count: ReencryptCount = { label: target.label, reencrypted: 0, unreadable: 0, changedMeanwhile: 0 };
    const { table, column } = target;
    // Keyset pagination by id: rows left unreadable are passed over, never read again in this run.
    let cursor = "";
    for (;;) {
      const [rows] = (await run([
        `SELECT id, firm_id, ${column} AS value FROM ${table}
         WHERE ${column} IS NOT NULL AND substr(${column}, 1, ${prefix.length}) <> ${literal(prefix)} AND id > ${literal(cursor)}
         ORDER BY id LIMIT ${Math.trunc(batchSize)};`,
      ])) as [StoredRow[]];
      if (rows.length === 0) break;
      const updates: string[] = [];
      for (const row of rows) {
        const resealed = await target.reseal(keys, row);
        if (resealed === null) count.unreadable++;
        else updates.push(`UPDATE ${table} SET ${column} = ${literal(resealed)} WHERE id = ${literal(row.id)} AND ${column} = ${literal(row.value)} RETURNING id;`);
      }
      if (updates.length) {
        const results = await run(updates);
        const applied = results.filter((r) => r.length === 1).length;
        count.reencrypted += applied;
        count.changedMeanwhile += updates.length - applied;
      }
      onProgress?.(count);
      cursor = rows[rows.length - 1].id;
      if (rows.length < batchSize) break;
    }
    counts.push(count);
  }
  return counts;
}
