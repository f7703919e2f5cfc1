// Shared steps for running the built worker locally: dev vars, build, migrations, demo seed.
// Used by `npm run dev`, the browser tests and the benchmark, each with its own port, inspector
// port and state folder, so they run side by side. Development behaviour is switched on here
// (`--var ENVIRONMENT:development`), never in wrangler.toml, which is the deployed config (ADR 010).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { demoSeedSql } from "../db/seed";

export const root = new URL("..", import.meta.url).pathname;
const wranglerBin = join(root, "node_modules/.bin/wrangler");

process.env.WRANGLER_SEND_METRICS = "false";

/** Local Worker secrets. Made once per checkout; never committed. */
export function ensureDevVars(): Record<string, string> {
  const file = join(root, ".dev.vars");
  if (!existsSync(file)) {
    const key = () => randomBytes(32).toString("base64");
    writeFileSync(file, `TOTP_ENCRYPTION_KEY="${key()}"\nRECOVERY_CODE_KEY="${key()}"\n`);
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z_]+)="?([^"]*)"?$/.exec(line.trim());
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

export function run(command: string, args: string[], quiet = false): void {
  execFileSync(command, args, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", env: process.env });
}

export function build(): void {
  run(join(root, "node_modules/.bin/remix"), ["vite:build"], true);
}

export function migrate(persistTo: string): void {
  run(wranglerBin, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], true);
}

export function executeSql(persistTo: string, sql: string, name: string): void {
  // Beside the state it seeds: two servers seeding at once must not share one file.
  mkdirSync(persistTo, { recursive: true });
  const file = join(persistTo, `${name}.sql`);
  writeFileSync(file, sql);
  run(wranglerBin, ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file, "--yes"], true);
}

export async function seedDemo(persistTo: string): Promise<void> {
  const vars = ensureDevVars();
  executeSql(persistTo, await demoSeedSql(vars.TOTP_ENCRYPTION_KEY), "demo-seed");
}

/** What a local server runs with on top of wrangler.toml and .dev.vars. Emailed links use its own port. */
export function localVars(port: number): Record<string, string> {
  return {
    ENVIRONMENT: "development",
    // localhost, not 127.0.0.1: browsers refuse an IP address as a WebAuthn RP ID, so passkeys need a name.
    APP_URL: `http://localhost:${port}`,
    EMAIL_FROM: "Client Portal <portal@example.test>",
  };
}

/**
 * `wrangler dev` on `port`, its DevTools inspector on `port + 1000` (wrangler's default, 9229, is
 * probed then bound, which races when two servers start at once), and `--test-scheduled` so
 * `GET /__scheduled` runs the Cron Trigger: wrangler 4.86's `/cdn-cgi/handler/scheduled` never
 * reaches a worker that has static assets. That flag exists only for `wrangler dev`.
 * `entry` replaces wrangler.toml's `main` for this server only; `cwd` serves another checkout (the
 * bench's A/B, bench/ab.ts).
 */
export function startWorker(persistTo: string, port: number, extraVars: Record<string, string> = {}, entry?: string, cwd = root, config?: string): ChildProcess {
  const args = [
    "dev",
    // Another config than wrangler.toml (the bench's copy without [assets], bench/app-config.ts).
    ...(config ? ["--config", config] : []),
    // Another entry than wrangler.toml's `main` (the browser tests' wrapper around it), same config.
    ...(entry ? [entry] : []),
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(port + 1000),
    "--persist-to", persistTo,
    "--test-scheduled",
    "--show-interactive-dev-session=false",
  ];
  for (const [k, v] of Object.entries({ ...localVars(port), ...extraVars })) args.push("--var", `${k}:${v}`);
  return spawn(wranglerBin, args, { cwd, stdio: "inherit", env: process.env });
}
