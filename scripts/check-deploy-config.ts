// `npm run check:deploy`: proves that what `npm run deploy` would upload is safe (ADR 010).
// It reads the config the way `wrangler deploy` does, builds the deployable bundle with
// `wrangler deploy --dry-run`, then runs that bundle (Miniflare, from Node) with the config's vars:
//   1. the config carries no development settings (ENVIRONMENT must be "production", no loopback or
//      plain-http URLs, no secret written into [vars]);
//   2. the bundle carries none of `wrangler dev`'s local helpers (`--test-scheduled`'s /__scheduled);
//   3. without its secrets the bundle refuses to serve (503 naming the missing settings) and its cron fails;
//   4. fully configured, /dev/outbox answers 404 on every host, loopback ones included;
//   5. the bench's simulated D1 distance (`BENCH_D1_DELAY_MS`, app/server/db.server.ts) is inert: with the
//      var set the deployed bundle answers a D1-reading page without the delay (and, as a control, the
//      same bundle with ENVIRONMENT "development" does wait, so the check can tell);
//   6. the bundle holds one copy of the app's code: each table of db/schema.ts is defined once (a module
//      that app/worker.ts imported besides the Remix build would be bundled and run twice; ADR 023).
// Needs `npm run build` first (the bundle includes build/server). Usage:
//   tsx scripts/check-deploy-config.ts [--config wrangler.toml]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getTableName, is, Table } from "drizzle-orm";
import { Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";
import * as schema from "../db/schema";
import { root } from "./local";

const args = process.argv.slice(2);
const configIndex = args.indexOf("--config");
const configPath = resolve(root, configIndex >= 0 ? args[configIndex + 1] : "wrangler.toml");

/** Worker secrets: set with `wrangler secret put`, never written into wrangler.toml. */
const SECRETS = ["TOTP_ENCRYPTION_KEY", "RECOVERY_CODE_KEY", "EMAIL_API_KEY", "TOTP_ENCRYPTION_KEYS_RETIRED", "RECOVERY_CODE_KEYS_RETIRED"];
/** What an operator adds to a deployment (secrets and their own URLs): fakes, to run the bundle. */
const OPERATOR_SETTINGS: Record<string, string> = {
  TOTP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
  RECOVERY_CODE_KEY: Buffer.alloc(32, 2).toString("base64"),
  EMAIL_API_URL: "https://email-provider.invalid/send",
  EMAIL_API_KEY: "check-deploy-fake-key",
  APP_URL: "https://portal.example.com",
  EMAIL_FROM: "Client Portal <portal@example.com>",
};
const LOOPBACK = /\b(127\.\d+\.\d+\.\d+|localhost|0\.0\.0\.0)\b|\[::1?\]/i;

const problems: string[] = [];
const fail = (message: string) => problems.push(message);

// 1. The config, as `wrangler deploy` (no --env: the top-level environment) reads it.
process.env.WRANGLER_SEND_METRICS = "false";
const config = unstable_readConfig({ config: configPath });
const vars = Object.fromEntries(Object.entries(config.vars).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
if (vars.ENVIRONMENT !== "production") {
  fail(`[vars] ENVIRONMENT is ${JSON.stringify(vars.ENVIRONMENT)}; the deployed config must say "production" (local scripts pass "development" with --var)`);
}
for (const [name, value] of Object.entries(vars)) {
  if (LOOPBACK.test(value)) fail(`[vars] ${name} points at a local address (${value}); local URLs are passed by the local scripts`);
  if (/^http:\/\//i.test(value)) fail(`[vars] ${name} is a plain http:// URL; a deployed portal is https only`);
}
for (const name of SECRETS) {
  if (name in vars) fail(`[vars] ${name} is a secret: remove it from wrangler.toml and set it with \`wrangler secret put ${name}\``);
}
for (const route of config.routes ?? []) {
  const pattern = typeof route === "string" ? route : route.pattern;
  if (LOOPBACK.test(pattern)) fail(`route ${pattern} points at a local address`);
}

// 2. The deployable bundle, exactly as `wrangler deploy` would build it.
const outdir = mkdtempSync(join(tmpdir(), "check-deploy-"));
let bindingsPrinted = "";
try {
  bindingsPrinted = execFileSync(
    join(root, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir, "--config", configPath],
    { cwd: root, encoding: "utf8", env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
  );
} catch (error) {
  const e = error as { stdout?: string; stderr?: string };
  console.error(e.stdout, e.stderr);
  console.error("check:deploy: `wrangler deploy --dry-run` failed (run `npm run build` first).");
  process.exit(1);
}
const bindingLines = bindingsPrinted.split("\n").filter((line) => /^env\.\w+/.test(line.trim()));
if (bindingLines.length === 0) fail("the dry run printed no bindings: cannot confirm what would be uploaded");
for (const line of bindingLines) {
  if (LOOPBACK.test(line) || /"development"/.test(line)) fail(`the dry run would upload a development setting: ${line.trim().replace(/\s+/g, " ")}`);
}
const bundlePath = join(outdir, "worker.js");
const bundle = readFileSync(bundlePath, "utf8");
// wrangler's middleware-scheduled.ts, which `wrangler dev --test-scheduled` wraps around the worker.
if (bundle.includes("Ran scheduled event") || /pathname === "\/__scheduled"/.test(bundle)) fail("the bundle contains wrangler dev's /__scheduled trigger (--test-scheduled is for local servers only)");
// test/e2e/worker.ts, the browser tests' entry with the route that creates firms, is never the deployed one.
if (bundle.includes("/__e2e/")) fail("the bundle contains the browser tests' firm route (/__e2e/firms): wrangler.toml's main must be app/worker.ts");
// 6. A table is defined by a call like sqliteTable("firms", { ... }), minified or not.
const tables = (Object.values(schema) as unknown[]).filter((value): value is Table => is(value, Table));
for (const table of tables) {
  const name = getTableName(table);
  const definitions = bundle.match(new RegExp(`\\(\\s*"${name}"\\s*,\\s*\\{`, "g"))?.length ?? 0;
  if (definitions !== 1) fail(`the bundle defines the table ${name} ${definitions} times, not once: the app's modules are bundled more than once (app/worker.ts must take them from the Remix build; ADR 023)`);
}

// 3 and 4. Run the bundle with the deployed vars, first as deployed (no secrets), then configured,
// on a D1 migrated like production's, so what answers is the app and not a missing table.
const workerOutput: string[] = [];
async function runBundle(bindings: Record<string, string>, check: (mf: Miniflare) => Promise<void>): Promise<void> {
  const mf = new Miniflare({
    // The worker's own logs are shown only when a check fails.
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => workerOutput.push(String(chunk)));
      stderr.on("data", (chunk) => workerOutput.push(String(chunk)));
    },
    // One module, listed by hand: Miniflare's module walker rejects the bundle's dynamic imports.
    modules: [{ type: "ESModule", path: bundlePath, contents: bundle }],
    modulesRoot: outdir,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings,
    d1Databases: ["DB"],
    kvNamespaces: ["LINKS"],
    r2Buckets: ["FILES"],
  });
  try {
    const db = await mf.getD1Database("DB");
    const migrations = join(root, config.d1_databases[0]?.migrations_dir ?? "db/migrations");
    for (const file of readdirSync(migrations).filter((f) => f.endsWith(".sql")).sort()) {
      const statements = readFileSync(join(migrations, file), "utf8").split("--> statement-breakpoint");
      await db.batch(statements.filter((sql) => sql.trim()).map((sql) => db.prepare(sql)));
    }
    await check(mf);
  } finally {
    await mf.dispose();
  }
}

const origin = vars.APP_URL ?? OPERATOR_SETTINGS.APP_URL;
await runBundle(vars, async (mf) => {
  const health = await mf.dispatchFetch(`${origin}/healthz`);
  const healthBody = await health.text();
  if (health.status !== 503) fail(`without its secrets the bundle's /healthz answered ${health.status}, not 503`);
  for (const name of ["TOTP_ENCRYPTION_KEY", "RECOVERY_CODE_KEY", "EMAIL_API_KEY"]) {
    if (!healthBody.includes(name)) fail(`without its secrets the bundle's /healthz does not name ${name} as missing`);
  }
  for (const path of ["/", "/login", "/portal/harbor", "/dev/outbox", "/l/any-token"]) {
    const response = await mf.dispatchFetch(`${origin}${path}`);
    const text = await response.text();
    if (response.status !== 503) fail(`without its secrets the bundle answered GET ${path} with ${response.status}, not 503`);
    if (text.includes(OPERATOR_SETTINGS.TOTP_ENCRYPTION_KEY)) fail("the refusal page prints a setting's value");
  }
  const worker = await mf.getWorker();
  const cron = await worker.scheduled({ cron: config.triggers.crons?.[0] ?? "*/5 * * * *" });
  if (cron.outcome === "ok") fail("without its secrets the bundle's cron run reported ok instead of failing");
});

await runBundle({ ...OPERATOR_SETTINGS, ...vars }, async (mf) => {
  const health = await mf.dispatchFetch(`${origin}/healthz`);
  if (health.status !== 200) fail(`configured with every setting, the bundle's /healthz answered ${health.status}: ${await health.text()}`);
  else await health.arrayBuffer();
  for (const host of new Set([new URL(origin).host, "127.0.0.1:8787", "localhost:8787", "[::1]:8787"])) {
    const response = await mf.dispatchFetch(`http://${host}/dev/outbox`);
    await response.arrayBuffer();
    if (response.status !== 404) fail(`the deployed bundle answers /dev/outbox on ${host} with ${response.status}, not 404`);
  }
  const trigger = await mf.dispatchFetch(`${origin}/__scheduled?cron=*/5+*+*+*+*`);
  if ((await trigger.text()).includes("Ran scheduled event")) fail("the deployed bundle runs its cron on GET /__scheduled");
});

// 5. The bench's D1 delay: a setTimeout before each D1 round trip, so an active delay cannot answer sooner.
const BENCH_DELAY_MS = 5000;
// A well-formed link token that is in no KV or D1: the Continue page looks it up in D1.
const d1Page = `/l/${"A".repeat(43)}`;
async function timedLoad(mf: Miniflare, at = origin): Promise<number> {
  const start = performance.now();
  const response = await mf.dispatchFetch(`${at}${d1Page}`);
  await response.arrayBuffer();
  if (response.status >= 500) fail(`GET /l/<unknown token> answered ${response.status}`);
  return performance.now() - start;
}
await runBundle({ ...OPERATOR_SETTINGS, ...vars, BENCH_D1_DELAY_MS: String(BENCH_DELAY_MS) }, async (mf) => {
  await timedLoad(mf); // warm
  const ms = await timedLoad(mf);
  if (ms >= BENCH_DELAY_MS) fail(`with BENCH_D1_DELAY_MS set, the deployed bundle took ${ms.toFixed(0)} ms on a D1 page: the bench's delay is active in production`);
});
// Development serves only a local address (ADR 010), as the local scripts run it.
const local = "http://127.0.0.1:8787";
await runBundle({ ...OPERATOR_SETTINGS, ...vars, ENVIRONMENT: "development", APP_URL: local, BENCH_D1_DELAY_MS: String(BENCH_DELAY_MS) }, async (mf) => {
  const ms = await timedLoad(mf, local);
  if (ms < BENCH_DELAY_MS) fail(`control: in development BENCH_D1_DELAY_MS did not delay the D1 page (${ms.toFixed(0)} ms), so the production check above proves nothing`);
});

rmSync(outdir, { recursive: true, force: true });
if (problems.length > 0) {
  if (workerOutput.length) console.error(`The worker's output:\n${workerOutput.join("")}`);
  console.error(`check:deploy: ${configPath} is not safe to deploy:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`check:deploy: ${configPath} deploys a production worker (no development settings, refuses to serve without its secrets, no /dev/outbox, no bench D1 delay, one copy of the app's code).`);
