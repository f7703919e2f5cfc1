// Shared steps for running the built worker locally: dev vars, build, migrations, demo seed.
// Used by `npm run dev`, the browser tests and the benchmark, each with its own state folder.
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
  mkdirSync(join(root, ".state"), { recursive: true });
  const file = join(root, ".state", `${name}.sql`);
  writeFileSync(file, sql);
  run(wranglerBin, ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file, "--yes"], true);
}

export async function seedDemo(persistTo: string): Promise<void> {
  const vars = ensureDevVars();
  executeSql(persistTo, await demoSeedSql(vars.TOTP_ENCRYPTION_KEY), "demo-seed");
}

export function startWorker(persistTo: string, port: number, extraVars: Record<string, string> = {}): ChildProcess {
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(extraVars)) args.push("--var", `${k}:${v}`);
  return spawn(wranglerBin, args, { cwd: root, stdio: "inherit", env: process.env });
}
