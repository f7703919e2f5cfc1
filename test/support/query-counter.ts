// A D1 binding that records every statement it runs, for the query-budget and query-plan tests
// (issue 7: at most 3 D1 queries per authenticated page load). Test code only: the worker never imports it.

export type RecordedQuery = { sql: string; params: unknown[]; batched: boolean };
/** `sessions`: the constraint or bookmark of each D1 session the worker opened (`withSession`). */
export type QueryLog = { queries: RecordedQuery[]; roundTrips: number; sessions: string[] };

type Tracked = { sql: string; params: unknown[] };

/**
 * Wraps `d1` so each executed statement lands in `log`. Statements are counted when they run
 * (all/run/raw/first, or inside batch), not when prepared, so a prepared-but-unused statement is free.
 */
export function countingD1(d1: D1Database, log: QueryLog = { queries: [], roundTrips: 0, sessions: [] }): { db: D1Database; log: QueryLog } {
  // batch() must receive the real statements, so every wrapper remembers what it wraps.
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const tracked = new WeakMap<object, Tracked>();

  function wrap(statement: D1PreparedStatement, info: Tracked): D1PreparedStatement {
    const proxy = new Proxy(statement, {
      get(target, key) {
        if (key === "bind") {
          return (...params: unknown[]) => wrap(target.bind(...params), { sql: info.sql, params });
        }
        if (key === "all" || key === "run" || key === "raw" || key === "first") {
          return (...args: unknown[]) => {
            log.queries.push({ ...info, batched: false });
            log.roundTrips++;
            return (target[key] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    unwrap.set(proxy, statement);
    tracked.set(proxy, info);
    return proxy;
  }

  function database<T extends object>(d1: T): T {
    return new Proxy(d1, {
      get(inner, key) {
        const target = inner as unknown as D1Database;
        if (key === "prepare") return (sql: string) => wrap(target.prepare(sql), { sql, params: [] });
        if (key === "batch") {
          return (statements: D1PreparedStatement[]) => {
            log.roundTrips++;
            for (const s of statements) log.queries.push({ ...(tracked.get(s) ?? { sql: "<unknown>", params: [] }), batched: true });
            return target.batch(statements.map((s) => unwrap.get(s) ?? s));
          };
        }
        if (key === "exec") {
          return (sql: string) => {
            log.roundTrips++;
            log.queries.push({ sql, params: [], batched: false });
            return target.exec(sql);
          };
        }
        // The worker opens a D1 session per request (d1-sessions.server.ts): count inside it too.
        if (key === "withSession") {
          return (constraint?: string) => {
            log.sessions.push(constraint ?? "first-unconstrained");
            return database(target.withSession(constraint));
          };
        }
        const value = Reflect.get(inner, key, inner);
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
  }
  return { db: database(d1), log };
}
