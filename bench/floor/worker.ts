// The bench's same-statements floor (issue 14). For each page target the bench first records the D1
// round trips one real page load runs (GET /__record: the app's own hono entry, called here with a
// recording D1 binding), then loads the page on the app's server and GET /__floor/<id> here, which
// replays exactly those statements with the same parameters against the same local D1 and answers a
// small body. What the page costs beyond the floor is the app: routing, auth code, drizzle, rendering.
//   /__floor/<id>?batch=1   all the recorded statements in one batch (what one round trip would cost)
//   /__floor/<id>?delay=ms  wait ms before each round trip (a client far from the D1 primary)
//   /__floor/<id>?separate=1 every statement its own round trip (the same reads with no batching at all)
import { app } from "../../app/worker";

type Method = "all" | "run" | "raw" | "first";
type Statement = { sql: string; params: unknown[]; method: Method };
/**
 * One D1 round trip: a lone statement, or a batch; `session` is the constraint of the D1 session it ran in
 * (`withSession`, as the app opens one per request for read replication), null on the bare binding.
 */
type RoundTrip = { batch: boolean; statements: Statement[]; session: string | null };

const recorded = new Map<string, RoundTrip[]>();

/** Wraps `d1` so every executed round trip lands in `trips` (the approach of the query-budget test's counter). */
function recordingD1(d1: D1Database, trips: RoundTrip[]): D1Database {
  let session: string | null = null;
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const info = new WeakMap<object, { sql: string; params: unknown[] }>();
  function wrap(statement: D1PreparedStatement, sql: string, params: unknown[]): D1PreparedStatement {
    const proxy = new Proxy(statement, {
      get(target, key) {
        if (key === "bind") return (...p: unknown[]) => wrap(target.bind(...p), sql, p);
        if (key === "all" || key === "run" || key === "raw" || key === "first") {
          return (...args: unknown[]) => {
            trips.push({ batch: false, statements: [{ sql, params, method: key }], session });
            return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    unwrap.set(proxy, statement);
    info.set(proxy, { sql, params });
    return proxy;
  }
  function database<T extends object>(d1: T): T {
    return new Proxy(d1, {
      get(inner, key) {
        const target = inner as unknown as D1Database;
        if (key === "prepare") return (sql: string) => wrap(target.prepare(sql), sql, []);
        if (key === "batch") {
          return (statements: D1PreparedStatement[]) => {
            trips.push({ batch: true, statements: statements.map((s) => ({ ...(info.get(s) ?? { sql: "<unknown>", params: [] }), method: "all" })), session });
            return target.batch(statements.map((s) => unwrap.get(s) ?? s));
          };
        }
        if (key === "exec") throw new Error("the floor cannot replay exec()");
        // The app opens a D1 session per request (d1-sessions.server.ts): record inside it too, and which.
        if (key === "withSession") {
          return (constraint?: string) => {
            session = constraint ?? "first-unconstrained";
            return database(target.withSession(constraint));
          };
        }
        const value = Reflect.get(inner, key, inner);
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
  }
  return database(d1);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function replay(binding: D1Database, trips: RoundTrip[], oneBatch: boolean, delayMs: number, separate = false): Promise<number> {
  // In the same kind of D1 session as the page, so the floor pays what the D1 client does for one too.
  const session = trips.find((t) => t.session !== null)?.session;
  const db = session ? binding.withSession(session) : binding;
  const prepare = (s: Statement) => db.prepare(s.sql).bind(...s.params);
  let rows = 0;
  if (separate) {
    // Every statement its own round trip: what the page's reads cost without any batching.
    for (const s of trips.flatMap((t) => t.statements)) {
      if (delayMs) await sleep(delayMs);
      rows += (await prepare(s).all()).results.length;
    }
    return rows;
  }
  if (oneBatch) {
    if (delayMs) await sleep(delayMs);
    const results = await db.batch(trips.flatMap((t) => t.statements).map(prepare));
    for (const r of results) rows += r.results?.length ?? 0;
    return rows;
  }
  for (const trip of trips) {
    if (delayMs) await sleep(delayMs);
    if (trip.batch) {
      for (const r of await db.batch(trip.statements.map(prepare))) rows += r.results?.length ?? 0;
      continue;
    }
    const [s] = trip.statements;
    const statement = prepare(s);
    if (s.method === "raw") rows += (await statement.raw()).length;
    else if (s.method === "first") rows += (await statement.first()) ? 1 : 0;
    else if (s.method === "run") await statement.run();
    else rows += (await statement.all()).results.length;
  }
  return rows;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__record") {
      // ?id=<target>&path=<page path>; the request's Cookie header is the page load's.
      const id = url.searchParams.get("id") ?? "";
      const path = url.searchParams.get("path") ?? "/";
      const trips: RoundTrip[] = [];
      const pageRequest = new Request(new URL(path, env.APP_URL), { headers: request.headers });
      const response = await app.fetch(pageRequest, { ...env, DB: recordingD1(env.DB, trips) }, ctx);
      await response.arrayBuffer();
      recorded.set(id, trips);
      return Response.json({ status: response.status, trips });
    }
    const match = /^\/__floor\/(.+)$/.exec(url.pathname);
    if (match) {
      const trips = recorded.get(decodeURIComponent(match[1]));
      if (!trips) return new Response("not recorded", { status: 404 });
      const rows = await replay(env.DB, trips, url.searchParams.has("batch"), Number(url.searchParams.get("delay") ?? 0), url.searchParams.has("separate"));
      return Response.json({ ok: true, rows });
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
