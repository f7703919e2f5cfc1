// Refuses to serve while the worker's settings are incomplete (ADR 010): every route, /healthz included,
// answers 503 with the list of what is missing, so a half-configured deployment is loud, not subtle.
import type { MiddlewareHandler } from "hono";
import { settingsProblems } from "../server/settings.server";

export const refuseUntilConfigured: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const url = new URL(c.req.url);
  const problems = settingsProblems(c.env, url);
  if (problems.length === 0) return next();
  console.error(`Not serving: ${problems.join("; ")}`);
  const headers = { "cache-control": "no-store", "retry-after": "60" };
  if (url.pathname === "/healthz") return c.json({ ok: false, problems }, 503, headers);
  const body = [
    "This portal is not configured yet, so it is not serving.",
    "",
    "Missing or invalid settings:",
    ...problems.map((p) => `- ${p}`),
    "",
    "The operator sets them with `wrangler secret put <NAME>` or in wrangler.toml [vars] (see docs/deploy.md).",
  ].join("\n");
  return c.text(body, 503, headers);
};
