// `npm run bench -- --distance` (issue 14): time to first byte for a client far from the D1 primary.
// The app runs with `--var BENCH_D1_DELAY_MS:<ms>` (app/server/db.server.ts waits that long before each
// D1 round trip, development only) and the floor replays the page's recorded round trips with the same
// delay (`?delay=`), or all of its statements in one batch (`?batch=1`: what one round trip per page
// would give). Requests go one at a time, so the figures are latency, not queueing.
import { type ChildProcess } from "node:child_process";
import { build, startWorker } from "../scripts/local";
import { record, startFloor, statementCount } from "./floor";
import { TARGETS, type Target } from "./targets";

const RUNS = Number(process.env.BENCH_DISTANCE_RUNS ?? 15);
/** Local (no distance), a nearby read replica, the primary across the globe. */
const DELAYS_MS = [0, 10, 150];

type Helpers = {
  port: number;
  floorPort: number;
  persistTo: string;
  floorState: string;
  staffCookie: string;
  seed: () => Promise<void>;
  waitForHealthz: (worker: ChildProcess, origin: string) => Promise<number>;
  stopWorker: (worker: ChildProcess) => Promise<void>;
  requestOptions: (target: Target, staffCookie: string) => { url: string; method: string; headers: Record<string, string> };
};

type Ttfb = { p50: number; p99: number };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function ttfb(url: string, headers: Record<string, string>): Promise<Ttfb> {
  const get = async () => {
    const start = performance.now();
    const response = await fetch(url, { headers, redirect: "manual" });
    const ms = performance.now() - start; // headers received: the first byte
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    return ms;
  };
  await get();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await get());
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

type Row = { name: string; statements: number; roundTrips: number; page: Record<number, Ttfb>; floor: Record<number, Ttfb>; oneTrip: Record<number, Ttfb> };

export async function runDistance(h: Helpers): Promise<number> {
  const origin = `http://127.0.0.1:${h.port}`;
  const floorOrigin = `http://127.0.0.1:${h.floorPort}`;
  console.log("[bench] distance mode: building and seeding…");
  build();
  await h.seed();
  const floor = startFloor(h.floorState, h.floorPort, origin);
  const rows = new Map<string, Row>();
  const targets = TARGETS.filter((t) => t.page);
  try {
    await h.waitForHealthz(floor, floorOrigin);
    for (const delay of DELAYS_MS) {
      const extra: Record<string, string> = { APP_URL: origin };
      if (delay > 0) extra.BENCH_D1_DELAY_MS = String(delay);
      const app = startWorker(h.persistTo, h.port, extra);
      try {
        await h.waitForHealthz(app, origin);
        const staffCookie = h.staffCookie;
        for (const target of targets) {
          const id = `distance-${TARGETS.indexOf(target)}`;
          const { url, headers } = h.requestOptions(target, staffCookie);
          let row = rows.get(target.name);
          if (!row) {
            const recording = await record(floorOrigin, id, target.path, headers);
            row = { name: target.name, statements: statementCount(recording), roundTrips: recording.trips.length, page: {}, floor: {}, oneTrip: {} };
            rows.set(target.name, row);
          }
          console.log(`[bench] ${target.name}: ${delay} ms per D1 round trip, ${RUNS} requests one at a time…`);
          row.page[delay] = await ttfb(url, headers);
          row.floor[delay] = await ttfb(`${floorOrigin}/__floor/${id}?delay=${delay}`, {});
          row.oneTrip[delay] = await ttfb(`${floorOrigin}/__floor/${id}?batch=1&delay=${delay}`, {});
        }
      } finally {
        await h.stopWorker(app);
      }
    }
  } finally {
    await h.stopWorker(floor);
  }

  const f = (t: Ttfb | undefined) => (t ? `${t.p50.toFixed(0)} / ${t.p99.toFixed(0)}` : "-");
  const lines: string[] = [];
  lines.push(`Time to first byte, p50 / p99 ms over ${RUNS} requests one at a time (a simulated delay before each D1 round trip):`);
  lines.push("");
  lines.push("| target | statements / round trips | local: page | local: floor | primary 150 ms: today's page | 150 ms: floor, same round trips | 150 ms: floor, one round trip | replica 10 ms: today's page | 10 ms: floor, one round trip | budget: page at 10 ms ≤ local page + 10 ms (p50) |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows.values()) {
    const limit = (r.page[0]?.p50 ?? 0) + 10;
    const measured = r.page[10]?.p50 ?? Infinity;
    lines.push(
      `| ${r.name} | ${r.statements} / ${r.roundTrips} | ${f(r.page[0])} | ${f(r.floor[0])} | ${f(r.page[150])} | ${f(r.floor[150])} | ${f(r.oneTrip[150])} | ${f(r.page[10])} | ${f(r.oneTrip[10])} | ${measured <= limit ? "PASS" : "FAIL"} (${measured.toFixed(0)} vs ${limit.toFixed(0)}) |`,
    );
  }
  console.log("\n" + lines.join("\n") + "\n");
  return 0;
}
