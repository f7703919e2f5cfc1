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
 *   POST /__fake/script     { key, statuses: [503, 429, ...], retryAfter? }: the next answers, in order
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
    if (url.pathname !== "/emails" || request.method !== "POST") return json({ name: "not_found", message: "Not found" }, 404);
    const key = (request.headers.get("authorization") || "").replace(/^Bearer /, "");
    const a = account(key);
    const idempotencyKey = request.headers.get("idempotency-key");
    const raw = await request.text();
    let body = null;
    try { body = JSON.parse(raw); } catch {}
    const status = a.script.length ? a.script.shift() : 200;
    a.requests.push({ method: request.method, path: url.pathname, idempotencyKey, contentType: request.headers.get("content-type"), body, status });
    if (!key) return json({ statusCode: 401, name: "missing_api_key", message: "Missing API key" }, 401);
    if (status === 429) return json({ statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" }, 429, a.retryAfter === null ? {} : { "retry-after": String(a.retryAfter) });
    if (status >= 400) return json({ statusCode: status, name: status < 500 ? "validation_error" : "internal_server_error", message: "Scripted failure " + status }, status);
    if (!body || !body.from || !body.to || !body.subject) return json({ statusCode: 422, name: "validation_error", message: "Missing field" }, 422);
    if (idempotencyKey && a.byIdempotencyKey.has(idempotencyKey)) return json({ id: a.byIdempotencyKey.get(idempotencyKey) });
    const id = crypto.randomUUID();
    if (idempotencyKey) a.byIdempotencyKey.set(idempotencyKey, id);
    a.delivered.push({ id, idempotencyKey, ...body });
    return json({ id });
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
