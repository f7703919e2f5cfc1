// The same-statements floor (issue 14) from the bench's side: start bench/floor/worker.ts beside the
// app on the same local D1 state, and record what each target's real page load runs.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ensureDevVars, localVars, root } from "../scripts/local";

export type RoundTrip = { batch: boolean; statements: Array<{ sql: string; params: unknown[]; method: string }>; session: string | null };
export type Recording = { status: number; trips: RoundTrip[] };

/** `wrangler dev` for the floor on `port`, its inspector on `port + 1000`, reading `persistTo` like the app. */
export function startFloor(persistTo: string, port: number, appOrigin: string): ChildProcess {
  const secrets = ensureDevVars();
  const vars: Record<string, string> = { ...localVars(port), APP_URL: appOrigin, ...secrets };
  const args = [
    "dev",
    "--config", join(root, "bench/floor/wrangler.toml"),
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(port + 1000),
    "--persist-to", persistTo,
    // As the app is served (scripts/local.ts): wrangler then wraps the floor in the same middleware.
    "--test-scheduled",
    "--show-interactive-dev-session=false",
  ];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  return spawn(join(root, "node_modules/.bin/wrangler"), args, { cwd: root, stdio: "inherit", env: process.env });
}

/**
 * Records one page load's D1 round trips under `id` in the floor. Loaded twice, keeping the second:
 * the first view of a seeded session may move its last-seen time (a write the common case does not make).
 */
export async function record(floorOrigin: string, id: string, path: string, headers: Record<string, string>): Promise<Recording> {
  const url = `${floorOrigin}/__record?${new URLSearchParams({ id, path })}`;
  let last: Recording | null = null;
  for (let i = 0; i < 2; i++) {
    const response = await fetch(url, { headers });
    if (!response.ok) throw new Error(`recording ${path} answered ${response.status}: ${await response.text()}`);
    last = (await response.json()) as Recording;
  }
  return last!;
}

export function statementCount(recording: Recording): number {
  return recording.trips.reduce((n, t) => n + t.statements.length, 0);
}
