// Page loads through the exported hono app with a D1 binding that records every statement, so a
// test can count a page's queries or replay them under EXPLAIN QUERY PLAN.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../app/worker";
import { countingD1, type QueryLog } from "./query-counter";
import { ORIGIN, type Browser } from "./http";

export async function countedLoad(browser: Browser, path: string): Promise<{ response: Response; body: string; log: QueryLog }> {
  const { db, log } = countingD1(env.DB);
  const ctx = createExecutionContext();
  const request = new Request(`${ORIGIN}${path}`, {
    headers: { cookie: browser.cookieHeader(), host: new URL(ORIGIN).host, "cf-connecting-ip": browser.ip },
  });
  const response = await app.fetch(request, { ...env, DB: db }, ctx);
  const body = await response.text();
  // Deferred work (waitUntil) belongs to the page load too.
  await waitOnExecutionContext(ctx);
  return { response, body, log };
}

export type PlanRow = { id: number; parent: number; detail: string };

export async function queryPlan(sql: string, params: unknown[] = []): Promise<PlanRow[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<PlanRow>();
  return results;
}

/** Tables that grow with a firm's clients and activity: reading one in full on a hot path is a bug. */
export const GROWING_TABLES = [
  "contacts",
  "sessions",
  "portal_accounts",
  "requests",
  "request_items",
  "audit_events",
  "access_links",
  "staff_users",
  "firms",
  // Tables that grow with use too, read by the scheduled job or the API.
  "recovery_codes",
  "account_tokens",
  "request_files",
  "outbox",
  "rate_limits",
  "invite_runs",
  "api_keys",
  "contact_imports",
  "contact_import_problems",
  "api_idempotency",
  "webauthn_credentials",
  "webauthn_challenges",
] as const;

/**
 * Plan steps that walk a whole growing table. SQLite writes `SEARCH t USING ... (col=?)` for an
 * index lookup and `SCAN t` for a full pass, including `SCAN t USING [COVERING] INDEX i`, which
 * reads every entry of the index: only SEARCH passes.
 */
export function fullScans(plan: PlanRow[]): string[] {
  return plan
    .map((row) => row.detail)
    .filter((detail) => {
      const match = /^SCAN (\w+)/.exec(detail);
      return match !== null && (GROWING_TABLES as readonly string[]).includes(match[1]);
    });
}
