// Running SQL text against the app's D1 from an operator command, through `wrangler d1 execute` (it cannot
// bind parameters: callers quote every value with db/sql-text). Local by default (the dev server's state
// in .wrangler/state), the deployed database with --remote; --env picks a wrangler environment.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { root } from "./local";

export type D1Target = { remote: boolean; envName: string | undefined };

/** Runs the statements in one `wrangler d1 execute` call and returns each statement's rows, in order. */
export function d1Execute(target: D1Target, statements: string[]): Array<Array<Record<string, unknown>>> {
  const wrangler = join(root, "node_modules/.bin/wrangler");
  const where = target.remote ? ["--remote"] : ["--local", "--persist-to", join(root, ".wrangler/state")];
  let output: string;
  try {
    output = execFileSync(
      wrangler,
      ["d1", "execute", "DB", ...where, ...(target.envName ? ["--env", target.envName] : []), "--command", statements.join("\n"), "--json", "--yes"],
      { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
  } catch (error) {
    // With --json, wrangler reports a failed statement on stdout as {"error":{"text":…}}; nothing was written.
    const stdout = String((error as { stdout?: unknown }).stdout ?? "");
    const text = /"text":\s*"([^"]*)"/.exec(stdout)?.[1];
    throw new Error(`wrangler d1 execute failed: ${text ?? (error as Error).message}`);
  }
  const results = JSON.parse(output) as Array<{ results?: Array<Record<string, unknown>> }>;
  return results.map((r) => r.results ?? []);
}
