// The app as the bench serves it (issue 14): wrangler.toml without its [assets] table. Locally, a Worker
// with [assets] gets every request through miniflare's asset router first, in the same workerd process and
// on the same thread; in production that check is the platform's, not the Worker's CPU. The bench loads
// documents only, never assets, so it serves the app without the router, as it serves the floor: measured
// with bench/process-cpu.ts, the router cost about 0.8 ms a request, and the profiler counted part of it
// as the app's JavaScript. Written next to wrangler.toml (paths in it are relative to it), from it, on
// every start, so the two cannot drift apart.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, startWorker } from "../scripts/local";

export const BENCH_CONFIG = ".wrangler-bench.toml";

/** `toml` without its `[assets]` table (the table's lines up to the next table header). */
export function withoutAssets(toml: string): string {
  const kept: string[] = [];
  let inAssets = false;
  for (const line of toml.split("\n")) {
    const header = /^\s*\[\[?([^\]]+)\]\]?\s*$/.exec(line);
    if (header) inAssets = header[1].trim() === "assets";
    if (!inAssets) kept.push(line);
  }
  return kept.join("\n");
}

/** Writes the bench's config into the checkout at `dir` and returns its path. */
export function benchConfig(dir = root): string {
  const toml = withoutAssets(readFileSync(join(dir, "wrangler.toml"), "utf8"));
  if (/^\s*\[assets\]/m.test(toml)) throw new Error("the bench's config still has [assets]");
  const path = join(dir, BENCH_CONFIG);
  writeFileSync(path, toml);
  return path;
}

/** `wrangler dev` of the app in the checkout at `dir`, for the bench: startWorker with the bench's config. */
export function startBenchApp(persistTo: string, port: number, vars: Record<string, string>, dir = root) {
  return startWorker(persistTo, port, vars, undefined, dir, benchConfig(dir));
}
