// `npm run bench -- --hot [name filter]`: where a page's CPU goes (issue 14). Builds, seeds, serves
// the real worker, then for each matching target samples N requests one at a time with the V8
// profiler and prints the functions with the most self time and the most total time (inclusive of what
// they call), per request. The figures are inflated by the profiler like the bench's CPU column: use
// them to compare functions with each other, not as absolute costs.
import { type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { root } from "../scripts/local";
import { startBenchApp } from "./app-config";
import { record, startFloor } from "./floor";
import { connect, SAMPLING_INTERVAL_US } from "./profile";
import { NOT_THE_WORKER, samplePeriodUs, type Profile } from "./samples";
import { TARGETS, type Target } from "./targets";

type FullNode = Profile["nodes"][number] & {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
};

/** Only the floor's bundle has its replay route. */
const FLOOR_MARK = "the floor cannot replay exec()";

function label(node: FullNode): string {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const file = url.split("/").slice(-2).join("/");
  return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}:${columnNumber + 1}`;
}

/**
 * Which package each line of wrangler's dev bundle came from: esbuild writes a `// path` comment before
 * each module. Read from the newest bundle, the one the profiled server runs.
 */
function packageOfLine(floor: boolean): (line: number) => string {
  // wrangler keeps each bundle under the folder of the config it ran: the floor has its own.
  const bundles = [".wrangler/tmp", "bench/floor/.wrangler/tmp"]
    .map((dir) => join(root, dir))
    .flatMap((tmp) => (existsSync(tmp) ? readdirSync(tmp).map((d) => join(tmp, d, "worker.js")) : []))
    .filter((file) => existsSync(file) && readFileSync(file, "utf8").includes(FLOOR_MARK) === floor)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const newest = bundles[0];
  if (!newest) return () => "(bundle not found)";
  console.log(`(packages from ${newest})`);
  const starts: Array<[number, string]> = [];
  readFileSync(newest, "utf8")
    .split("\n")
    .forEach((text, i) => {
      const m = /^\/\/ (\S+)$/.exec(text);
      if (m) starts.push([i, m[1].replace(/^.*node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, "$1")]);
    });
  return (line) => {
    let found = "(bundle)";
    for (const [start, name] of starts) {
      if (start > line) break;
      found = name;
    }
    return found;
  };
}

export function hotFunctions(profile: Profile, requests: number, floor: boolean, top = Number(process.env.BENCH_HOT_TOP ?? 30), periodUs = samplePeriodUs(profile)): string[] {
  const nodes = profile.nodes as FullNode[];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Each sample in the Worker stands for one period of the sampler (samples.ts, `workerCpuMs`).
  const msPerSample = periodUs / 1000 / requests;
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const packageOf = packageOfLine(floor);
  const total = new Map<string, number>();
  const whereOf = (node: FullNode) => {
    const { url, lineNumber, functionName } = node.callFrame;
    return url.endsWith("worker.js") ? packageOf(lineNumber) : url ? url.split(":")[0] : functionName.startsWith("(") ? functionName : "(native)";
  };
  const labelled = (node: FullNode) => `${label(node)} [${whereOf(node)}]`;
  let worker = 0;
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    if (NOT_THE_WORKER.has(node.callFrame.functionName)) continue;
    worker++;
    self.set(labelled(node), (self.get(labelled(node)) ?? 0) + 1);
    byPackage.set(whereOf(node), (byPackage.get(whereOf(node)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = labelled(byId.get(at)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + 1);
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([l, n]) => `${(n * msPerSample).toFixed(2).padStart(7)} ms  ${l}`);
  // BENCH_HOT_CALLERS=name,name: who calls those functions (by total time of the caller chain).
  const callers = new Map<string, number>();
  const wanted = new Set((process.env.BENCH_HOT_CALLERS ?? "").split(",").filter(Boolean));
  if (wanted.size > 0) {
    for (const id of profile.samples) {
      const chain: string[] = [];
      let hit = false;
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at)!;
        if (!hit && wanted.has(node.callFrame.functionName)) hit = true;
        if (hit) chain.push(node.callFrame.functionName || "(anonymous)");
        if (chain.length >= 8) break;
      }
      if (hit) callers.set(chain.join(" < "), (callers.get(chain.join(" < ")) ?? 0) + 1);
    }
  }
  return [
    ...(wanted.size > 0 ? ["-- callers --", ...rows(callers)] : []),
    `worker JS+GC: ${(worker * msPerSample).toFixed(2)} ms a request`,
    "-- self time by package or module --",
    ...rows(byPackage),
    "-- self --",
    ...rows(self),
    "-- total --",
    ...rows(total),
  ];
}

async function sample(inspectorPort: number, once: () => Promise<void>, runs: number): Promise<Profile> {
  for (let i = 0; i < Number(process.env.BENCH_HOT_WARM ?? 20); i++) await once();
  const inspector = await connect(inspectorPort);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  await inspector.send("Profiler.start");
  for (let i = 0; i < runs; i++) await once();
  const { profile } = (await inspector.send("Profiler.stop")) as { profile: Profile };
  inspector.close();
  return profile;
}

/** What bench/run.ts lends the --hot and --ab runs: its seeded state, its servers' start and stop, its requests. */
export type BenchServers = {
  port: number;
  persistTo: string;
  staffCookie: string;
  seed: () => Promise<void>;
  waitForHealthz: (worker: ChildProcess, origin?: string) => Promise<number>;
  stopWorker: (worker: ChildProcess) => Promise<void>;
  requestOptions: (target: Target, staffCookie: string) => { url: string; method: string; headers: Record<string, string> };
  filter?: string;
};

export async function runHot(options: BenchServers & { floorState: string }): Promise<number> {
  const runs = Number(process.env.BENCH_HOT_RUNS ?? 100);
  const appOrigin = `http://127.0.0.1:${options.port}`;
  const floorOrigin = `http://127.0.0.1:${options.port + 1}`;
  await options.seed();
  const worker = startBenchApp(options.persistTo, options.port, { APP_URL: appOrigin });
  const floor = startFloor(options.floorState, options.port + 1, appOrigin);
  try {
    await options.waitForHealthz(worker);
    await options.waitForHealthz(floor, floorOrigin);
    for (const target of TARGETS.filter((t) => t.method === "GET" && (!options.filter || t.name.includes(options.filter)))) {
      const { url, method, headers } = options.requestOptions(target, options.staffCookie);
      const id = String(TARGETS.indexOf(target));
      await record(floorOrigin, id, target.path, headers);
      const page = await sample(options.port + 1000, async () => void (await (await fetch(url, { method, headers, redirect: "manual" })).arrayBuffer()), runs);
      console.log(`\n## ${target.name} (${target.path}), ${runs} requests`);
      for (const line of hotFunctions(page, runs, false)) console.log(line);
      const floorProfile = await sample(options.port + 1001, async () => void (await (await fetch(`${floorOrigin}/__floor/${id}`)).arrayBuffer()), runs);
      console.log(`\n## its floor, ${runs} requests`);
      // With the page's period, as bench/run.ts counts the floor: its own runs of JavaScript are too short to time.
      for (const line of hotFunctions(floorProfile, runs, true, Number(process.env.BENCH_HOT_FLOOR_TOP ?? 10), samplePeriodUs(page))) console.log(line);
    }
    return 0;
  } finally {
    await Promise.all([options.stopWorker(worker), options.stopWorker(floor)]);
  }
}
