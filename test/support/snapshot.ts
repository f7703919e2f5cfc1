// A snapshot of everything the worker can write: every D1 table's rows (found through sqlite_master),
// every KV namespace's keys, values and metadata, and every R2 bucket's object keys, sizes and etags.
// Bindings are found in `env` by their shape, so a binding added later is covered without editing this.
// Use: const before = await snapshotStorage(); ...; expect(diffStorage(before, await snapshotStorage())).toEqual([]);
import { env } from "cloudflare:workers";

export type StorageSnapshot = {
  d1: Record<string, Record<string, string[]>>;
  kv: Record<string, Record<string, string>>;
  r2: Record<string, Record<string, string>>;
};

/** One line per difference, e.g. `D1 DB.sessions + {"id":...}` or `KV LINKS ~ abc: x → y`. */
export type StorageChange = string;

type Bindings = { d1: [string, D1Database][]; kv: [string, KVNamespace][]; r2: [string, R2Bucket][] };

/** Bindings of the test environment that the worker never has: the stale replica of test/support/stale-replica.ts. */
const TEST_ONLY = new Set(["STALE_REPLICA_DB"]);

function bindingsOf(source: Record<string, unknown>): Bindings {
  const found: Bindings = { d1: [], kv: [], r2: [] };
  for (const [name, value] of Object.entries(source)) {
    if (!value || typeof value !== "object" || TEST_ONLY.has(name)) continue;
    // The constructor names are workerd's own wrapper classes; RPC stubs and plain objects do not match.
    const kind = (value as object).constructor?.name;
    if (kind === "D1Database") found.d1.push([name, value as D1Database]);
    else if (kind === "KvNamespace" || kind === "KVNamespace") found.kv.push([name, value as KVNamespace]);
    else if (kind === "R2Bucket") found.r2.push([name, value as R2Bucket]);
  }
  return found;
}

/** The binding names found in the test environment, so a test can assert that none was missed. */
export function storageBindings(source: Record<string, unknown> = env as unknown as Record<string, unknown>) {
  const b = bindingsOf(source);
  return { d1: b.d1.map(([n]) => n), kv: b.kv.map(([n]) => n), r2: b.r2.map(([n]) => n) };
}

function cell(value: unknown): unknown {
  // BLOB columns arrive as ArrayBuffer or number arrays; compare them by content.
  if (value instanceof ArrayBuffer) return `blob:${[...new Uint8Array(value)].join(",")}`;
  return value;
}

export type SnapshotOptions = {
  /** Columns left out per table, for writes that do not depend on the request, e.g. a session's last-seen touch. */
  ignoreColumns?: Record<string, string[]>;
  /** Where the bindings are found; the test environment by default. */
  source?: Record<string, unknown>;
};

async function snapshotD1(db: D1Database, ignore: Record<string, string[]>): Promise<Record<string, string[]>> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")
    .all<{ name: string }>();
  const tables = results.map((r) => r.name);
  if (tables.length === 0) return {};
  // One batch: a consistent read of every table in one round trip.
  const rows = await db.batch(tables.map((t) => db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`)));
  const out: Record<string, string[]> = {};
  tables.forEach((table, i) => {
    const skip = new Set(ignore[table] ?? []);
    out[table] = (rows[i].results as Record<string, unknown>[])
      .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).filter(([k]) => !skip.has(k)).map(([k, v]) => [k, cell(v)]))))
      .sort();
  });
  return out;
}

async function snapshotKV(kv: KVNamespace): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor: string | undefined;
  do {
    const page = await kv.list({ cursor });
    for (const key of page.keys) {
      const { value, metadata } = await kv.getWithMetadata(key.name, "text");
      out[key.name] = JSON.stringify({ value, metadata: metadata ?? null, expiration: key.expiration ?? null });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

async function snapshotR2(bucket: R2Bucket): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ cursor, include: ["customMetadata"] });
    for (const object of page.objects) {
      out[object.key] = JSON.stringify({ size: object.size, etag: object.etag, customMetadata: object.customMetadata ?? {} });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

export async function snapshotStorage(options: SnapshotOptions = {}): Promise<StorageSnapshot> {
  const b = bindingsOf(options.source ?? (env as unknown as Record<string, unknown>));
  const snapshot: StorageSnapshot = { d1: {}, kv: {}, r2: {} };
  for (const [name, db] of b.d1) snapshot.d1[name] = await snapshotD1(db, options.ignoreColumns ?? {});
  for (const [name, kv] of b.kv) snapshot.kv[name] = await snapshotKV(kv);
  for (const [name, bucket] of b.r2) snapshot.r2[name] = await snapshotR2(bucket);
  return snapshot;
}

function diffKeyed(label: string, before: Record<string, string>, after: Record<string, string>): StorageChange[] {
  const changes: StorageChange[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(key in after)) changes.push(`${label} - ${key}`);
    else if (!(key in before)) changes.push(`${label} + ${key}: ${after[key]}`);
    else if (before[key] !== after[key]) changes.push(`${label} ~ ${key}: ${before[key]} → ${after[key]}`);
  }
  return changes;
}

function diffRows(label: string, before: string[], after: string[]): StorageChange[] {
  const left = new Map<string, number>();
  for (const row of before) left.set(row, (left.get(row) ?? 0) + 1);
  const changes: StorageChange[] = [];
  for (const row of after) {
    const n = left.get(row) ?? 0;
    if (n > 0) left.set(row, n - 1);
    else changes.push(`${label} + ${row}`);
  }
  for (const [row, n] of left) for (let i = 0; i < n; i++) changes.push(`${label} - ${row}`);
  return changes;
}

/** Every difference between two snapshots; an empty list means nothing the worker can write changed. */
export function diffStorage(before: StorageSnapshot, after: StorageSnapshot): StorageChange[] {
  const changes: StorageChange[] = [];
  for (const name of new Set([...Object.keys(before.d1), ...Object.keys(after.d1)])) {
    const b = before.d1[name] ?? {};
    const a = after.d1[name] ?? {};
    for (const table of new Set([...Object.keys(b), ...Object.keys(a)])) {
      changes.push(...diffRows(`D1 ${name}.${table}`, b[table] ?? [], a[table] ?? []));
    }
  }
  for (const name of new Set([...Object.keys(before.kv), ...Object.keys(after.kv)])) {
    changes.push(...diffKeyed(`KV ${name}`, before.kv[name] ?? {}, after.kv[name] ?? {}));
  }
  for (const name of new Set([...Object.keys(before.r2), ...Object.keys(after.r2)])) {
    changes.push(...diffKeyed(`R2 ${name}`, before.r2[name] ?? {}, after.r2[name] ?? {}));
  }
  return changes;
}
