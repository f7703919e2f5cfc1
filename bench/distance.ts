// `npm run bench -- --distance` (issue 14): time to first byte for a client far from the D1 primary.
// The app runs with `--var BENCH_D1_DELAY_MS:<ms>` (and BENCH_D1_REPLICA_DELAY_MS for sessions that may
// read a replica; app/server/db.server.ts waits that long before each D1 round trip, development only)
// and the floor replays the page's recorded statements unbatched or in one batch with the same delays.
// Requests go one at a time, so the figures are latency, not queueing.
import { type ChildProcess } from "node:child_process";
import { build } from "../scripts/local";
import { startBenchApp } from "./app-config";
import { record, startFloor, statementCount } from "./floor";
import { TARGETS, type Target } from "./targets";

const RUNS = Number(process.env.BENCH_DISTANCE_RUNS ?? 15);
const PRIMARY_MS = 150;
const REPLICA_MS = 10;
/**
 * The app's three set-ups: local (no distance); far from the primary with no replica; and far from the
 * primary with a replica nearby (a D1 session that may read a replica waits REPLICA_MS, one that must
 * read the primary PRIMARY_MS: d1-sessions.server.ts decides which, db.server.ts simulates the distance).
 */
const SETUPS = [
  { key: "local", vars: {} },
  { key: "far", vars: { BENCH_D1_DELAY_MS: String(PRIMARY_MS) } },
  { key: "replica", vars: { BENCH_D1_DELAY_MS: String(PRIMARY_MS), BENCH_D1_REPLICA_DELAY_MS: String(REPLICA_MS) } },
] as const;
type SetupKey = (typeof SETUPS)[number]["key"];
/** The public page that shows what a replica gives; authenticated pages read the primary by rule (ADR 020). */
const PUBLIC_PAGE = "client sign-in page";

type Helpers = {
  /** The worker was just built by the main run: no need to build again. */
  built?: boolean;
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

type Row = {
  name: string;
  statements: number;
  roundTrips: number;
  page: Partial<Record<SetupKey, Ttfb>>;
  unbatched?: Ttfb;
  oneTrip?: Ttfb;
  oneTripNear?: Ttfb;
};

export async function runDistance(h: Helpers): Promise<number> {
  const origin = `http://127.0.0.1:${h.port}`;
  const floorOrigin = `http://127.0.0.1:${h.floorPort}`;
  console.log("[bench] distance mode: seeding…");
  if (!h.built) build();
  await h.seed();
  const floor = startFloor(h.floorState, h.floorPort, origin);
  const rows = new Map<string, Row>();
  const targets = TARGETS.filter((t) => t.page || t.name === PUBLIC_PAGE);
  try {
    await h.waitForHealthz(floor, floorOrigin);
    for (const setup of SETUPS) {
      const app = startBenchApp(h.persistTo, h.port, { APP_URL: origin, ...setup.vars });
      try {
        await h.waitForHealthz(app, origin);
        for (const target of targets) {
          const id = `distance-${TARGETS.indexOf(target)}`;
          const { url, headers } = h.requestOptions(target, h.staffCookie);
          let row = rows.get(target.name);
          if (!row) {
            const recording = await record(floorOrigin, id, target.path, headers);
            row = { name: target.name, statements: statementCount(recording), roundTrips: recording.trips.length, page: {} };
            rows.set(target.name, row);
            // The floor does the page's reads with no app around them: unbatched (every statement a round
            // trip, as reads without batching would), and in one round trip, far and near.
            row.unbatched = await ttfb(`${floorOrigin}/__floor/${id}?separate=1&delay=${PRIMARY_MS}`, {});
            row.oneTrip = await ttfb(`${floorOrigin}/__floor/${id}?batch=1&delay=${PRIMARY_MS}`, {});
            row.oneTripNear = await ttfb(`${floorOrigin}/__floor/${id}?batch=1&delay=${REPLICA_MS}`, {});
          }
          console.log(`[bench] ${target.name}: ${setup.key}, ${RUNS} requests one at a time…`);
          row.page[setup.key] = await ttfb(url, headers);
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
  lines.push(
    `Time to first byte, p50 / p99 ms over ${RUNS} requests one at a time; a client ${PRIMARY_MS} ms from the D1 primary, a replica ${REPLICA_MS} ms away:`,
  );
  lines.push("");
  lines.push(
    "| target | statements / round trips | local | far, no replica | far, replica near | floor: same reads unbatched, far | floor: one round trip, far | floor: one round trip, near | budget: one round trip (far page ≤ local + " +
      `${PRIMARY_MS} + 25 ms, p50) | replica budget (page ≤ local + ${REPLICA_MS} + 25 ms, p50) |`,
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
  let failed = 0;
  for (const r of rows.values()) {
    const local = r.page.local?.p50 ?? 0;
    const far = r.page.far?.p50 ?? Infinity;
    const near = r.page.replica?.p50 ?? Infinity;
    const oneTripOk = far <= local + PRIMARY_MS + 25;
    // Pages behind a session read the primary by rule (ADR 020: a replica cannot prove it has seen a
    // revocation), so the replica budget applies to public pages; for the others it is reported, not held.
    const held = r.name === PUBLIC_PAGE;
    const replicaOk = near <= local + REPLICA_MS + 25;
    if (!oneTripOk || (held && !replicaOk)) failed++;
    lines.push(
      `| ${r.name} | ${r.statements} / ${r.roundTrips} | ${f(r.page.local)} | ${f(r.page.far)} | ${f(r.page.replica)} | ${f(r.unbatched)} | ${f(r.oneTrip)} | ${f(r.oneTripNear)} | ${oneTripOk ? "PASS" : "FAIL"} (${far.toFixed(0)} vs ${(local + PRIMARY_MS + 25).toFixed(0)}) | ${held ? (replicaOk ? "PASS" : "FAIL") : "primary by rule 27"} (${near.toFixed(0)} vs ${(local + REPLICA_MS + 25).toFixed(0)}) |`,
    );
  }
  console.log("\n" + lines.join("\n") + "\n");
  return failed;
}
