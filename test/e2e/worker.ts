// The worker the browser tests' server runs: the app's own entry, unchanged, plus one route that makes
// a test's firm (test/e2e/firms.ts). Only scripts/e2e-server.ts serves this file. What deploys is
// wrangler.toml's `main`, app/worker.ts, which never imports it; `npm run check:deploy` checks that the
// production bundle has no such route.
import app from "../../app/worker";
import { createFirm, FIXTURE_PATH, type FirmOptions } from "./firms";

type E2EEnv = Env & { E2E_FIXTURE_TOKEN?: string };

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== FIXTURE_PATH) return app.fetch(request, env, ctx);
    // A random token per server start (scripts/e2e-server.ts), held by the test process only.
    const token = env.E2E_FIXTURE_TOKEN;
    if (request.method !== "POST" || !token || request.headers.get("authorization") !== `Bearer ${token}`) {
      return new Response("Not found", { status: 404 });
    }
    const options = (await request.json()) as FirmOptions;
    return Response.json(await createFirm(env.DB, env.TOTP_ENCRYPTION_KEY, options));
  },
  scheduled: app.scheduled,
} satisfies ExportedHandler<E2EEnv>;
