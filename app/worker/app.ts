// The Worker's hono app: it owns the edge concerns (health, API, security middleware, cron) and hands
// every page request to Remix with the request's bindings, database and CSP nonce as load context.
// It is built by `createWorker` from the Remix server build, and is itself part of that build (exported
// by entry.server.tsx; ADR 023), so the worker holds one copy of the app's code, not two.
import { createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/cloudflare";
import { Hono } from "hono";
import { api } from "../api/routes";
import { loadPortalAuth } from "../server/portal/portal-auth.server";
import { createDb, withBenchDistance } from "../server/db.server";
import { openD1 } from "../server/d1-sessions.server";
import { createReader } from "../server/read-batch.server";
import { runScheduledJobs } from "../server/scheduled.server";
import { settingsProblems } from "../server/settings.server";
import { requestMeta } from "../server/request-meta.server";
import { loadStaffAuth } from "../server/staff/staff-auth.server";
import { trackBackgroundWork } from "./background-work";
import { refuseUntilConfigured } from "./readiness";
import { crossSiteWriteGuard, newNonce, securityHeaders } from "./security";

type HonoEnv = { Bindings: Env; Variables: { nonce: string } };

/** Memoises one lookup per request so a layout and its page share the session query. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= load());
}

/** The hono app (tests call it directly) and the Worker's handlers, around the given Remix build. */
export function createWorker(build: ServerBuild) {
  const handleRemixRequest = createRequestHandler(build);
  const app = new Hono<HonoEnv>();

  app.use("*", async (c, next) => {
    c.set("nonce", newNonce());
    await next();
  });
  app.use("*", securityHeaders());
  // Before anything reads a setting or writes: a half-configured worker serves nothing (ADR 010).
  app.use("*", refuseUntilConfigured);
  app.use("*", crossSiteWriteGuard);

  app.get("/healthz", (c) => c.json({ ok: true }));
  // Browsers ask for /favicon.ico whatever the page links; the icon is an SVG asset.
  app.get("/favicon.ico", (c) => c.redirect("/favicon.svg", 301));
  app.route("/api", api);

  app.all("*", async (c) => {
    const request = c.req.raw;
    // Primary or nearest replica, by the rules in d1-sessions.server.ts (ADR 020).
    const d1 = openD1(withBenchDistance(c.env.DB, c.env), request);
    const db = createDb(d1.d1);
    const read = createReader(db);
    const context: AppLoadContext = {
      env: c.env,
      // In tests, work done after the response is recorded so a test can wait for it (background-work.ts).
      ctx: c.env.ENVIRONMENT === "test" ? trackBackgroundWork(c.executionCtx as ExecutionContext) : (c.executionCtx as ExecutionContext),
      db,
      read,
      nonce: c.get("nonce"),
      meta: requestMeta(request),
      auth: {
        staff: once(() => loadStaffAuth(db, request, Date.now(), read)),
        portal: once(() => loadPortalAuth(db, request, Date.now(), read)),
      },
    };
    const response = await handleRemixRequest(request, context);
    const bookmark = d1.bookmarkCookie();
    if (bookmark) response.headers.append("Set-Cookie", bookmark);
    return response;
  });

  const handler = {
    fetch: app.fetch,
    // Awaited, not waitUntil: a failed run then shows as failed in the Cron Trigger's history, and
    // the local trigger (`/__scheduled`) answers once the run is done.
    async scheduled(_controller: ScheduledController, env: Env) {
      const problems = settingsProblems(env);
      if (problems.length > 0) throw new Error(`Not running scheduled jobs: ${problems.join("; ")}`);
      await runScheduledJobs(env, createDb(env.DB));
    },
  } satisfies ExportedHandler<Env>;

  return { app, handler };
}
