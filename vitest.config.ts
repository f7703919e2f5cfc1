import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Tests run inside workerd against the real worker (SELF.fetch) with real local D1, KV and R2,
// migrated from the same folder wrangler uses.

/**
 * A fake email provider with Resend's API shape, as its own Worker: every outbound `fetch` of the
 * worker under test goes to it (miniflare's `outboundService`), so email tests exercise the transport's
 * real HTTP request. It records each request, answers like Resend (an id; the same id for a repeated
 * Idempotency-Key), and fails on demand. State is per API key, so each test uses its own key and
 * parallel test files do not see each other's mail.
 *   POST /emails            the provider endpoint (Authorization: Bearer <key>)
 *   POST /emails/batch      up to 100 emails, all or none (Resend's strict validation); one idempotency key
 *   POST /__fake/script     { key, statuses: [503, 429, "lost", ...], retryAfter? }: the next answers, in
 *                           order ("lost": accepted and sent, then answered 504, as a lost answer looks)
 *   GET  /__fake/log?key=   { requests, delivered }
 * Any other host answers 502: tests have no network.
 */
const FAKE_EMAIL_PROVIDER_HOST = "email-provider.test";
const fakeEmailProvider = /* js */ `
const accounts = new Map();
function account(key) {
  if (!accounts.has(key)) accounts.set(key, { script: [], retryAfter: null, requests: [], delivered: [], byIdempotencyKey: new Map() });
  return accounts.get(key);
}
const json = (body, status = 200, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.hostname !== "${FAKE_EMAIL_PROVIDER_HOST}") return new Response("no network in tests", { status: 502 });
    if (url.pathname === "/__fake/script" && request.method === "POST") {
      const { key, statuses, retryAfter = null } = await request.json();
      const a = account(key);
      a.script.push(...statuses);
      a.retryAfter = retryAfter;
      return json({ ok: true });
    }
    if (url.pathname === "/__fake/log") {
      const a = account(url.searchParams.get("key"));
      return json({ requests: a.requests, delivered: a.delivered });
    }
    const batch = url.pathname === "/emails/batch";
    if ((url.pathname !== "/emails" && !batch) || request.method !== "POST") return json({ name: "not_found", message: "Not found" }, 404);
    const key = (request.headers.get("authorization") || "").replace(/^Bearer /, "");
    const a = account(key);
    const idempotencyKey = request.headers.get("idempotency-key");
    const raw = await request.text();
    let body = null;
    try { body = JSON.parse(raw); } catch {}
    const scripted = a.script.length ? a.script.shift() : 200;
    const status = scripted === "lost" ? 504 : scripted;
    const entry = { method: request.method, path: url.pathname, idempotencyKey, contentType: request.headers.get("content-type"), body, status, at: Date.now() };
    a.requests.push(entry);
    if (!key) return json({ statusCode: 401, name: "missing_api_key", message: "Missing API key" }, 401);
    if (status === 429) return json({ statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" }, 429, a.retryAfter === null ? {} : { "retry-after": String(a.retryAfter) });
    if (status >= 400 && scripted !== "lost") return json({ statusCode: status, name: status < 500 ? "validation_error" : "internal_server_error", message: "Scripted failure " + status }, status);
    const emails = batch ? body : [body];
    const valid = (e) => e && e.from && Array.isArray(e.to) && e.to.length && e.subject && !e.to.some((t) => !String(t).includes("@"));
    if (!Array.isArray(emails) || emails.length === 0 || emails.length > 100 || !emails.every(valid)) return (entry.status = 422), json({ statusCode: 422, name: "validation_error", message: "Invalid email in request" }, 422);
    if (idempotencyKey && a.byIdempotencyKey.has(idempotencyKey)) {
      const previous = a.byIdempotencyKey.get(idempotencyKey);
      if (previous.payload !== raw) return json({ statusCode: 409, name: "invalid_idempotent_request", message: "Same key, other payload" }, 409);
      return batch ? json({ data: previous.ids.map((id) => ({ id })) }) : json({ id: previous.ids[0] });
    }
    const ids = emails.map(() => crypto.randomUUID());
    if (idempotencyKey) a.byIdempotencyKey.set(idempotencyKey, { ids, payload: raw });
    emails.forEach((e, i) => a.delivered.push({ id: ids[i], idempotencyKey, batch, ...e }));
    if (scripted === "lost") return json({ statusCode: 504, name: "gateway_timeout", message: "Lost answer" }, 504);
    return batch ? json({ data: ids.map((id) => ({ id })) }) : json({ id: ids[0] });
  },
};
`;
export default defineConfig(async () => {
  const migrations = await readD1Migrations(fileURLToPath(new URL("./db/migrations", import.meta.url)));
  return {
    plugins: [
      cloudflareTest({
        main: "./app/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // The worker's outbound fetches (the email transport's) go to the fake provider.
          outboundService: "fake-email-provider",
          workers: [{ name: "fake-email-provider", modules: true, script: fakeEmailProvider, compatibilityDate: "2026-04-20" }],
          // A second database standing in for a D1 read replica that lags behind the primary
          // (test/support/stale-replica.ts): the worker's own DB binding comes from wrangler.toml.
          d1Databases: { STALE_REPLICA_DB: "stale-replica-test" },
          bindings: {
            TEST_MIGRATIONS: migrations,
            ENVIRONMENT: "test",
            APP_URL: "http://portal.test",
            EMAIL_FROM: "Client Portal <portal@example.test>",
            // Test-only keys; production keys are Worker secrets.
            TOTP_ENCRYPTION_KEY: "dGVzdC10b3RwLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=",
            RECOVERY_CODE_KEY: "dGVzdC1yZWNvdmVyeS1rZXktMDAwMDAwMDAwMDAwMDA=",
            // Empty, so a checkout's .dev.vars (which wrangler also reads) cannot add retired keys to the tests.
            TOTP_ENCRYPTION_KEYS_RETIRED: "",
            RECOVERY_CODE_KEYS_RETIRED: "",
          },
        },
      }),
    ],
    // Per checkout, so parallel worktrees sharing node_modules do not fight over pre-bundles.
    cacheDir: fileURLToPath(new URL("./.cache/vite", import.meta.url)),
    resolve: { alias: { "~": fileURLToPath(new URL("./app", import.meta.url)) } },
    test: {
      include: ["test/{unit,integration,security}/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      testTimeout: 30_000,
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: ["@remix-run/cloudflare", "@remix-run/server-runtime", "cookie", "set-cookie-parser"],
          },
        },
      },
    },
  };
});
