// A D1 read replica that lags behind the primary, for the consistency tests of issue 14 (ADR 020).
// Local D1 has no replicas, so a second database (STALE_REPLICA_DB, vitest.config.ts) plays one: `snapshot`
// copies the primary into it, and from then on it falls behind. `replicatedD1` is a binding whose D1
// sessions go where Cloudflare would send them: "first-primary" to the primary; "first-unconstrained" to
// the replica; a bookmark to the replica only if the replica is at least that new (else to the primary).
// Writes in a replica session go to the primary, as D1 forwards them. Test code only.
import { env } from "cloudflare:workers";

const SKIP = /^(sqlite_|_cf_|d1_migrations$)/;

/** Copies every table of the primary into the replica. Returns the primary's bookmark at that moment. */
export async function snapshot(primary: D1Database = env.DB, replica: D1Database = env.STALE_REPLICA_DB): Promise<string> {
  const session = primary.withSession("first-primary");
  const { results: tables } = await session.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
  // One batch, foreign keys checked at its end: tables are copied in any order.
  const statements = [replica.prepare("PRAGMA defer_foreign_keys = ON")];
  for (const { name } of tables.filter((t) => !SKIP.test(t.name))) {
    const { results: rows } = await session.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>();
    statements.push(replica.prepare(`DELETE FROM "${name}"`));
    for (const row of rows) {
      const columns = Object.keys(row);
      statements.push(
        replica.prepare(`INSERT INTO "${name}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...columns.map((c) => row[c])),
      );
    }
  }
  await replica.batch(statements);
  return session.getBookmark()!;
}

export type Routing = { sessions: Array<{ constraint: string; servedBy: "primary" | "replica" }> };

const WRITE = /^\s*(insert|update|delete|replace|create|drop|alter)\b/i;

/**
 * A binding over `primary` and a `replica` that is at `replicaBookmark`. With `everythingFromReplica`, every
 * session reads the replica, whatever its constraint: the control that shows a test's replica really is stale.
 */
export function replicatedD1(
  replicaBookmark: string,
  options: { everythingFromReplica?: boolean; primary?: D1Database; replica?: D1Database } = {},
): { binding: D1Database; routing: Routing } {
  const primary = options.primary ?? env.DB;
  const replica = options.replica ?? env.STALE_REPLICA_DB;
  const routing: Routing = { sessions: [] };

  function replicaSession(): D1DatabaseSession {
    // Statements remember which database they were prepared on, for batch().
    const onPrimary = new WeakSet<object>();
    return {
      prepare(sql: string) {
        if (WRITE.test(sql)) {
          const statement = primary.prepare(sql);
          onPrimary.add(statement);
          return statement;
        }
        return replica.prepare(sql);
      },
      async batch(statements: D1PreparedStatement[]) {
        return statements.some((s) => onPrimary.has(s)) ? primary.batch(statements) : replica.batch(statements);
      },
      getBookmark: () => replicaBookmark,
    } as unknown as D1DatabaseSession;
  }

  const binding = new Proxy(primary, {
    get(target, key) {
      if (key === "withSession") {
        return (constraint = "first-unconstrained") => {
          const fresh = constraint === "first-primary" || (constraint !== "first-unconstrained" && constraint > replicaBookmark);
          const servedBy = fresh && !options.everythingFromReplica ? "primary" : "replica";
          routing.sessions.push({ constraint, servedBy });
          return servedBy === "primary" ? target.withSession(constraint) : replicaSession();
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { binding, routing };
}

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../../app/worker";
import { ORIGIN, type Browser } from "./http";

/** A browser's request through the worker with `binding` as its D1 (cookies kept like Browser.fetch). */
export async function fetchVia(binding: D1Database, browser: Browser, path: string, form?: Record<string, string>): Promise<Response> {
  const headers = new Headers({ host: new URL(ORIGIN).host, "cf-connecting-ip": browser.ip });
  if (browser.cookies.size) headers.set("cookie", browser.cookieHeader());
  let body: string | undefined;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers.set("content-type", "application/x-www-form-urlencoded");
    headers.set("origin", ORIGIN);
    headers.set("sec-fetch-site", "same-origin");
  }
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${ORIGIN}${path}`, { method: form ? "POST" : "GET", headers, body, redirect: "manual" }), { ...env, DB: binding }, ctx);
  await waitOnExecutionContext(ctx);
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const eq = pair.indexOf("=");
    if (/max-age=0/i.test(cookie)) browser.cookies.delete(pair.slice(0, eq));
    else browser.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return response;
}
