// `npm run bench -- --ab <git ref> [name filter]`: this checkout against another commit, side by side in
// one run (issue 14). One run of the bench on this shared VM moves a page's ratios by ten points or more,
// so a change worth a few percent cannot be seen by comparing two runs. Here both builds serve the same
// seeded data at the same time, and each round loads and profiles one, then the other: what the VM does
// meanwhile falls on both. The other commit is built in a git worktree under .state/ with this checkout's
// node_modules (its patches included: a change to a patch is not part of what this compares).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { root } from "../scripts/local";
import { startBenchApp } from "./app-config";
import type { BenchServers } from "./hot";
import { CPU_RUNS, cpuPerRequest } from "./profile";
import { median } from "./samples";
import { TARGETS } from "./targets";

type Load = (options: { url: string; method: "GET" | "POST"; headers: Record<string, string>; connections: number }) => Promise<{
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
}>;

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 5);

/** The other commit, built, in a worktree of its own (kept for the next run of the same commit). */
function checkout(ref: string): { dir: string; sha: string } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  const sha = git("rev-parse", "--verify", `${ref}^{commit}`);
  const dir = join(root, ".state", `ab-${sha.slice(0, 12)}`);
  if (!existsSync(join(dir, "build/server/index.js"))) {
    rmSync(dir, { recursive: true, force: true });
    git("worktree", "prune");
    git("worktree", "add", "--detach", dir, sha);
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    cpSync(join(root, ".dev.vars"), join(dir, ".dev.vars"));
    execFileSync(join(root, "node_modules/.bin/remix"), ["vite:build"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"], env: process.env });
  }
  return { dir, sha };
}

export async function runAb(options: BenchServers & { ref: string; load: Load }): Promise<number> {
  const other = checkout(options.ref);
  await options.seed();
  // Two workerd processes cannot share one D1 file: the other build reads a copy of the same state.
  const otherState = `${options.persistTo}-ab`;
  rmSync(otherState, { recursive: true, force: true });
  cpSync(options.persistTo, otherState, { recursive: true });
  const here = { name: "this checkout", origin: `http://127.0.0.1:${options.port}`, inspector: options.port + 1000 };
  const there = { name: options.ref, origin: `http://127.0.0.1:${options.port + 2}`, inspector: options.port + 1002 };
  const workers = [
    startBenchApp(options.persistTo, options.port, { APP_URL: here.origin }),
    startBenchApp(otherState, options.port + 2, { APP_URL: there.origin }, other.dir),
  ];
  try {
    await options.waitForHealthz(workers[0], here.origin);
    await options.waitForHealthz(workers[1], there.origin);
    const rows: string[] = [];
    for (const target of TARGETS.filter((t) => t.method === "GET" && (!options.filter || t.name.includes(options.filter)))) {
      const { url, method, headers } = options.requestOptions(target, options.staffCookie);
      const { pathname, search } = new URL(url);
      const path = pathname + search;
      const fetchOnce = (origin: string) => async () => void (await (await fetch(`${origin}${path}`, { method, headers, redirect: "manual" })).arrayBuffer());
      const rps = async (origin: string) => {
        const result = await options.load({ url: `${origin}${path}`, method: "GET", headers, connections: target.connections });
        return (result.statusCodeStats[String(target.expectStatus)]?.count ?? 0) / result.duration;
      };
      const throughput: Array<[number, number]> = [];
      const cpu: Array<[number, number]> = [];
      console.log(`[bench] ${target.name}: ${ROUNDS} rounds, ${here.name} then ${there.name}…`);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which goes first, so neither always meets the machine just after the other's load.
        const order = round % 2 === 0 ? [here, there] : [there, here];
        const r: Record<string, number> = {};
        const c: Record<string, number> = {};
        for (const side of order) r[side.name] = await rps(side.origin);
        for (const side of order) c[side.name] = (await cpuPerRequest(side.inspector, fetchOnce(side.origin), CPU_RUNS)).perRequestMs;
        throughput.push([r[here.name], r[there.name]]);
        cpu.push([c[here.name], c[there.name]]);
      }
      const fmt = (n: number, digits = 0) => n.toFixed(digits);
      rows.push(
        `| ${target.name} | ${fmt(median(throughput.map(([a]) => a)))} | ${fmt(median(throughput.map(([, b]) => b)))} | ${fmt(median(throughput.map(([a, b]) => a / b)) * 100)}% | ` +
          `${fmt(median(cpu.map(([a]) => a)), 2)} | ${fmt(median(cpu.map(([, b]) => b)), 2)} | ${fmt(median(cpu.map(([a, b]) => a / b)) * 100)}% |`,
      );
    }
    console.log(`\nThis checkout against ${options.ref} (${other.sha.slice(0, 12)}), ${ROUNDS} rounds each, medians; the ratios are the median of the rounds' own.\n`);
    console.log("| target | req/s here | req/s there | throughput, here / there | CPU ms here | CPU ms there | CPU, here / there |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const row of rows) console.log(row);
    return 0;
  } finally {
    await Promise.all(workers.map(options.stopWorker));
  }
}
