// `npm run bench`: build, seed a large firm in a fresh local D1, serve the real worker in workerd and
// beside it the same-statements floor (bench/floor/), load each target and then its floor with
// autocannon, profile each one's CPU per request, measure size and start-up, check the budgets of
// issues 7 and 14, and write bench/results/latest.json plus a Markdown table. A failed budget is
// reported, not fatal; a server that does not start is. It ends with time to first byte for a client
// far from the D1 primary (bench/distance.ts; `--no-distance` skips it, `--distance` runs only that) and
// `--hot [filter]` profiles where a page's CPU goes (bench/hot.ts); `--ab <ref> [filter]` compares this
// checkout with another commit side by side (bench/ab.ts).
import autocannon from "autocannon";
import { type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem, type as osType, release } from "node:os";
import { join } from "node:path";
import { hashPassword } from "../app/server/auth/passwords.server";
import { DEMO_PASSWORD } from "../db/seed";
import { build, ensureDevVars, executeSql, migrate, root, seedDemo } from "../scripts/local";
import { startBenchApp } from "./app-config";
import { BENCH_TOKENS, LARGE_FIRM, largeFirmSeedChunks, sessionCookieValue } from "./seed-large";
import { clientJsPerRoute, startupCpu, workerBundleSize, type ClientJs, type Startup } from "./sizes";
import { median } from "./samples";
import { TARGETS, cookieFor, type Target } from "./targets";
import { record, startFloor, statementCount, type Recording } from "./floor";
import { runAb } from "./ab";
import { type CpuMeasure, CPU_RUNS, cpuPerRequest, SHORT_RUNS } from "./profile";
import { processCpuPerRequest, runtimeProcess } from "./process-cpu";
import { runDistance } from "./distance";
import { runHot } from "./hot";
import { importBudgets, importMarkdown, measureImport, type ImportMeasure } from "./import";

// 8830-8839 (inspectors 9830-9839): off the dev server's and the browser tests' ports.
const PORT = Number(process.env.BENCH_PORT ?? 8830);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const FLOOR_PORT = PORT + 1;
const FLOOR_ORIGIN = `http://127.0.0.1:${FLOOR_PORT}`;
/** Requests one at a time per process-CPU measure; page and floor in turn, CPU_ROUNDS times. */
const PROCESS_CPU_RUNS = Number(process.env.BENCH_PROCESS_CPU_RUNS ?? 300);
/**
 * Page and floor are profiled in turn this many times: each side's median is printed, and the budget
 * holds the median of the rounds' ratios, since a busy machine drifts between rounds.
 */
const CPU_ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
const WARMUP_S = 1;
// Other ports get their own state, so two bench runs never share a D1 file.
const persistTo = join(root, PORT === 8830 ? ".state/bench" : `.state/bench-${PORT}`);
/**
 * The floor reads a copy of the seeded state: two workerd processes on one D1 file fail with
 * SQLITE_BUSY. The copy is taken after seeding, before either server starts, so the data is the same.
 */
export const floorState = (state: string) => `${state}-floor`;
/** The admin's seeded session (bench/seed-large.ts): it exists in the app's state and the floor's copy. */
const STAFF_COOKIE = `__Host-staff_session=${sessionCookieValue(BENCH_TOKENS.staffSession)}`;

// wrangler dev logs every request at info level; under load that costs CPU on a 2-core machine.
process.env.WRANGLER_LOG ??= "warn";
// What is deployed: `wrangler dev` bundles React's and react-router's development builds (prop
// validation, warnings) unless NODE_ENV says production, as `wrangler deploy` does by default.
process.env.NODE_ENV ??= "production";

const BUDGETS = {
  /** Against the page's same-statements floor (issue 14). */
  pageThroughputRatio: 0.75,
  pageP99Ratio: 1.5,
  pageCpuRatio: 2,
  /**
   * The Worker's own CPU a page view, profiled (ADR 025): a fifth of the free plan's 10 ms a request. The
   * ratio above cannot be met by a server-rendered page against floors of 0.1-0.2 ms; this holds what
   * the bill and the limit feel.
   */
  pageCpuMs: 2,
  roundTrips: 1,
  bundleGzipKiB: 400,
  /** Issue 14: a median of 40 ms or less (issue 7 allowed 50). */
  startupMs: 40,
  clientJsGzipKiB: 120,
  signInMs: 200,
};

type Measured = {
  name: string;
  method: string;
  path: string;
  connections: number;
  status: "measured";
  page: boolean;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  unexpected: number;
  errors: number;
  statusCodes: Record<string, number>;
  rpsVsHealthz?: number;
  p99VsHealthz?: number;
  /** What one real page load ran against D1 (recorded by the floor), and the floor loaded the same way. */
  statements?: number;
  roundTrips?: number;
  floor?: { rps: number; p50Ms: number; p99Ms: number; unexpected: number; errors: number };
  cpuMs?: number;
  floorCpuMs?: number;
  /** What one profile carried beyond its requests (page, floor): removed from the figures above. */
  cpuFixedMs?: number;
  floorCpuFixedMs?: number;
  /** The median of each round's page/floor ratio: a round's two profiles share the machine's state. */
  cpuRatio?: number;
  /**
   * The serving workerd process's CPU a request, no profiler (bench/process-cpu.ts): the Worker plus local
   * D1 and the proxy's traffic, which page and floor pay alike. Medians of the rounds; reported, not held.
   */
  processCpuMs?: number;
  floorProcessCpuMs?: number;
};
type Skipped = { name: string; method: string; path: string; status: "skipped"; reason: string; page: boolean };
type TargetResult = Measured | Skipped;

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

function elapsed(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

async function seed(): Promise<void> {
  rmSync(persistTo, { recursive: true, force: true });
  const vars = ensureDevVars();
  migrate(persistTo);
  await seedDemo(persistTo);
  const chunks = await largeFirmSeedChunks(await hashPassword(DEMO_PASSWORD), vars.TOTP_ENCRYPTION_KEY);
  chunks.forEach((sql, i) => executeSql(persistTo, sql, `bench-large-${i}`));
  rmSync(floorState(persistTo), { recursive: true, force: true });
  cpSync(persistTo, floorState(persistTo), { recursive: true });
}

async function waitForHealthz(worker: ChildProcess, origin = ORIGIN, timeoutMs = 120_000): Promise<number> {
  const start = performance.now();
  let exited = false;
  worker.once("exit", () => (exited = true));
  while (performance.now() - start < timeoutMs) {
    if (exited) throw new Error("wrangler dev exited before /healthz answered");
    try {
      const response = await fetch(`${origin}/healthz`);
      if (response.ok) return performance.now() - start;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/healthz did not answer within ${timeoutMs / 1000} s`);
}

function postHeaders(): Record<string, string> {
  return { Origin: ORIGIN, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded" };
}

async function signInStaff(): Promise<string> {
  const response = await fetch(`${ORIGIN}/login`, {
    method: "POST",
    headers: postHeaders(),
    body: new URLSearchParams({ email: LARGE_FIRM.adminEmail, password: DEMO_PASSWORD }),
    redirect: "manual",
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("__Host-staff_session="));
  if (response.status !== 302 || !cookie) throw new Error(`staff sign-in answered ${response.status}, no session cookie`);
  return cookie.split(";")[0];
}

function requestOptions(target: Target, staffCookie: string) {
  const headers: Record<string, string> = target.method === "POST" ? postHeaders() : {};
  const cookie = cookieFor(target.identity, staffCookie);
  if (cookie) headers.Cookie = cookie;
  const body = target.form ? new URLSearchParams(target.form).toString() : undefined;
  return { url: `${ORIGIN}${target.path}`, method: target.method, headers, body };
}

async function probe(target: Target, staffCookie: string): Promise<string | null> {
  const { url, method, headers, body } = requestOptions(target, staffCookie);
  const response = await fetch(url, { method, headers, body, redirect: "manual" });
  const text = await response.text();
  if (response.status !== target.expectStatus) {
    const location = response.headers.get("location");
    return `${method} ${target.path} answered ${response.status}${location ? ` → ${location}` : ""}, expected ${target.expectStatus}`;
  }
  if (target.expectText && !text.includes(target.expectText)) return `${method} ${target.path} answered without ${JSON.stringify(target.expectText)}: not the page meant`;
  return null;
}

async function loadUrl(options: { url: string; method: "GET" | "POST"; headers: Record<string, string>; body?: string; connections: number }) {
  const opts = { ...options, timeout: 10 };
  await autocannon({ ...opts, duration: WARMUP_S });
  return autocannon({ ...opts, duration: DURATION_S });
}

async function loadFloor(target: Target, id: string): Promise<NonNullable<Measured["floor"]>> {
  const result = await loadUrl({ url: `${FLOOR_ORIGIN}/__floor/${id}`, method: "GET", headers: {}, connections: target.connections });
  const ok = result.statusCodeStats["200"]?.count ?? 0;
  const answered = Object.values(result.statusCodeStats).reduce((a, b) => a + b.count, 0);
  return { rps: ok / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99, unexpected: answered - ok, errors: result.errors + result.timeouts };
}

async function load(target: Target, staffCookie: string): Promise<Measured> {
  const result = await loadUrl({ ...requestOptions(target, staffCookie), connections: target.connections });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  const expected = statusCodes[String(target.expectStatus)] ?? 0;
  const answered = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    name: target.name,
    method: target.method,
    path: target.path,
    connections: target.connections,
    status: "measured",
    page: target.page,
    rps: expected / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: answered,
    unexpected: answered - expected,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

/** One sign-in at a time: with no queueing its wall time bounds the CPU the KDF costs. */
async function serialSignInMs(runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const response = await fetch(`${ORIGIN}/login`, {
      method: "POST",
      headers: postHeaders(),
      body: new URLSearchParams({ email: LARGE_FIRM.adminEmail, password: DEMO_PASSWORD }),
      redirect: "manual",
    });
    await response.arrayBuffer();
    if (response.status !== 302) throw new Error(`sign-in answered ${response.status}`);
    times.push(performance.now() - start);
  }
  return median(times);
}

function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => worker.kill("SIGKILL"), 10_000);
    worker.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    worker.kill("SIGTERM");
  });
}

type Budget = { budget: string; limit: string; measured: string; pass: boolean | null };

function checkBudgets(
  results: TargetResult[],
  bundle: { gzipKiB: number },
  startup: Startup,
  clientJs: ClientJs,
  signInMs: number | null,
): Budget[] {
  const budgets: Budget[] = [];
  for (const r of results) {
    // Every page view is held to its floor (issue 14), public ones too; /healthz and the sign-in POST are
    // not page views.
    if (r.method !== "GET" || r.path === "/healthz") continue;
    if (r.status === "skipped") {
      budgets.push({ budget: `${r.name}: throughput and p99`, limit: "-", measured: "skipped", pass: null });
      continue;
    }
    if (!r.floor) {
      budgets.push({ budget: `${r.name}: vs its floor`, limit: "-", measured: "no floor (no D1 statements recorded)", pass: null });
      continue;
    }
    const rpsRatio = r.rps / Math.max(r.floor.rps, 1e-9);
    const p99Ratio = r.p99Ms / Math.max(r.floor.p99Ms, 1);
    // With no D1 work the floor answers without doing anything: the ratios are a document's own cost.
    const held = (r.roundTrips ?? 0) > 0;
    const note = held ? "" : " (no D1 work: the document's own cost, reported, not held)";
    budgets.push({
      budget: `${r.name}: throughput vs its floor${note}`,
      limit: `≥ ${BUDGETS.pageThroughputRatio * 100}%`,
      measured: `${(rpsRatio * 100).toFixed(0)}%`,
      pass: held ? rpsRatio >= BUDGETS.pageThroughputRatio && r.unexpected === 0 && r.errors === 0 : null,
    });
    budgets.push({
      budget: `${r.name}: p99 vs its floor's${note}`,
      limit: `≤ ${BUDGETS.pageP99Ratio}x`,
      measured: `${p99Ratio.toFixed(1)}x`,
      pass: held ? p99Ratio <= BUDGETS.pageP99Ratio : null,
    });
    if (r.cpuMs !== undefined && r.floorCpuMs !== undefined) {
      const cpuRatio = r.cpuRatio ?? r.cpuMs / Math.max(r.floorCpuMs, 1e-3);
      budgets.push({
        budget: `${r.name}: CPU per request vs its floor's${note}`,
        limit: `≤ ${BUDGETS.pageCpuRatio}x`,
        measured: `${cpuRatio.toFixed(1)}x (${r.cpuMs.toFixed(2)} / ${r.floorCpuMs.toFixed(2)} ms)`,
        pass: held ? cpuRatio <= BUDGETS.pageCpuRatio : null,
      });
      budgets.push({
        budget: `${r.name}: the Worker's own CPU per request (ADR 025)`,
        limit: `≤ ${BUDGETS.pageCpuMs} ms`,
        measured: `${r.cpuMs.toFixed(2)} ms`,
        pass: r.cpuMs <= BUDGETS.pageCpuMs,
      });
    }
    budgets.push({
      budget: `${r.name}: D1 round trips per view`,
      limit: `≤ ${BUDGETS.roundTrips}`,
      measured: `${r.roundTrips} (${r.statements} statements)`,
      pass: (r.roundTrips ?? Infinity) <= BUDGETS.roundTrips,
    });
  }
  budgets.push({
    budget: "worker bundle, minified, gzip",
    limit: `≤ ${BUDGETS.bundleGzipKiB} KiB`,
    measured: `${bundle.gzipKiB.toFixed(1)} KiB`,
    pass: bundle.gzipKiB <= BUDGETS.bundleGzipKiB,
  });
  budgets.push({
    budget: "start-up CPU (wrangler check startup, median)",
    limit: `≤ ${BUDGETS.startupMs} ms`,
    measured: startup.ok ? `${startup.medianMs.toFixed(1)} ms` : `not measured: ${startup.reason}`,
    pass: startup.ok ? startup.medianMs <= BUDGETS.startupMs : null,
  });
  if (clientJs.ok) {
    const largest = clientJs.routes.reduce((a, b) => (b.gzipKiB > a.gzipKiB ? b : a));
    budgets.push({
      budget: `client JS per route, gzip (largest: ${largest.route})`,
      limit: `≤ ${BUDGETS.clientJsGzipKiB} KiB`,
      measured: `${largest.gzipKiB.toFixed(1)} KiB`,
      pass: largest.gzipKiB <= BUDGETS.clientJsGzipKiB,
    });
  } else {
    budgets.push({ budget: "client JS per route, gzip", limit: `≤ ${BUDGETS.clientJsGzipKiB} KiB`, measured: clientJs.reason, pass: null });
  }
  budgets.push({
    budget: "sign-in POST, one at a time (wall time ≥ CPU)",
    limit: `≤ ${BUDGETS.signInMs} ms`,
    measured: signInMs === null ? "not measured" : `${signInMs.toFixed(0)} ms`,
    pass: signInMs === null ? null : signInMs <= BUDGETS.signInMs,
  });
  return budgets;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function markdown(report: Report): string {
  const lines: string[] = [];
  lines.push(`Machine: ${report.machine.cpu} × ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB, ${report.machine.os}, Node ${report.machine.node}, wrangler ${report.machine.wrangler}, autocannon ${report.machine.autocannon}`);
  lines.push(
    `Load: ${report.durationS} s per target after a ${WARMUP_S} s warm-up, ${report.when}; 1-min load average ${fmt(report.loadAverage.beforeBench, 1)} before the bench, ${fmt(report.loadAverage.start, 1)} / ${fmt(report.loadAverage.end, 1)} when loading began / ended`,
  );
  lines.push("");
  lines.push("| target | conns | req/s | p50 ms | p99 ms | non-2xx / errors | req/s vs /healthz | p99 vs /healthz |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of report.targets) {
    if (r.status === "skipped") {
      lines.push(`| ${r.name} | | | | | | | skipped: ${r.reason} |`);
      continue;
    }
    const bad = `${r.unexpected} / ${r.errors}`;
    lines.push(
      `| ${r.name} | ${r.connections} | ${fmt(r.rps)} | ${r.p50Ms} | ${r.p99Ms} | ${bad} | ${fmt((r.rpsVsHealthz ?? 0) * 100)}% | ${fmt(r.p99VsHealthz ?? 0, 1)}x |`,
    );
  }
  lines.push("");
  lines.push("Each target against its same-statements floor (bench/floor/: the D1 round trips one real load of the page ran, replayed with a small body), loaded back to back:");
  lines.push("");
  lines.push("| target | statements / round trips | page req/s | floor req/s | page/floor | page p99 ms | floor p99 ms | p99 ratio | page CPU ms | floor CPU ms | CPU ratio |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of report.targets) {
    if (r.status !== "measured" || !r.floor) continue;
    const cpu = r.cpuMs !== undefined && r.floorCpuMs !== undefined;
    lines.push(
      `| ${r.name} | ${r.statements} / ${r.roundTrips} | ${fmt(r.rps)} | ${fmt(r.floor.rps)} | ${fmt((r.rps / r.floor.rps) * 100)}% | ${r.p99Ms} | ${r.floor.p99Ms} | ${fmt(r.p99Ms / Math.max(r.floor.p99Ms, 1), 1)}x | ${cpu ? fmt(r.cpuMs!, 2) : "-"} | ${cpu ? fmt(r.floorCpuMs!, 2) : "-"} | ${cpu ? `${fmt(r.cpuRatio ?? r.cpuMs! / r.floorCpuMs!, 1)}x` : "-"} |`,
    );
  }
  const withProcessCpu = report.targets.filter((r): r is Measured => r.status === "measured" && r.processCpuMs !== undefined && r.floorProcessCpuMs !== undefined);
  if (withProcessCpu.length > 0) {
    lines.push("");
    lines.push(
      `CPU of the serving workerd process a request, without a profiler (bench/process-cpu.ts; ${PROCESS_CPU_RUNS} requests one at a time, median of ${CPU_ROUNDS} rounds). It includes local D1's SQLite and the proxy's traffic, which page and floor pay alike, so the difference is what the app adds; reported, not held:`,
    );
    lines.push("");
    // The last column checks the profiled figures: both measure what the app adds, one with the kernel's clock.
    lines.push("| target | page ms | floor ms | page − floor ms | page / floor | profiled page − floor ms |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    for (const r of withProcessCpu) {
      const page = r.processCpuMs!;
      const floor = r.floorProcessCpuMs!;
      const profiled = r.cpuMs !== undefined && r.floorCpuMs !== undefined ? fmt(r.cpuMs - r.floorCpuMs, 2) : "-";
      lines.push(`| ${r.name} | ${fmt(page, 2)} | ${fmt(floor, 2)} | ${fmt(page - floor, 2)} | ${fmt(page / Math.max(floor, 1e-3), 1)}x | ${profiled} |`);
    }
  }
  lines.push("");
  lines.push(`Worker bundle (wrangler deploy --dry-run --minify): ${fmt(report.bundle.rawKiB, 1)} KiB, ${fmt(report.bundle.gzipKiB, 1)} KiB gzip`);
  lines.push(
    report.startup.ok
      ? `Start-up CPU (wrangler check startup, local workerd, runs ${report.startup.runsMs.map((m) => fmt(m, 1)).join(" / ")} ms): median ${fmt(report.startup.medianMs, 1)} ms`
      : `Start-up CPU: ${report.startup.reason}`,
  );
  lines.push(`wrangler dev cold start to first /healthz 200 (process start, not Worker start-up CPU): ${fmt(report.timeToFirstHealthzMs)} ms`);
  if (report.signInSerialMs !== null) lines.push(`Sign-in POST one at a time (median of 5): ${fmt(report.signInSerialMs)} ms`);
  lines.push("");
  if (report.clientJs.ok) {
    lines.push("| route | JS files | client JS gzip |");
    lines.push("|---|---:|---:|");
    for (const r of report.clientJs.routes) lines.push(`| ${r.route} | ${r.files} | ${fmt(r.gzipKiB, 1)} KiB |`);
  } else {
    lines.push(`Client JS per route: ${report.clientJs.reason}`);
  }
  lines.push("");
  lines.push("| budget | limit | measured | result |");
  lines.push("|---|---|---|---|");
  for (const b of report.budgets) lines.push(`| ${b.budget} | ${b.limit} | ${b.measured} | ${b.pass === null ? "n/a" : b.pass ? "PASS" : "FAIL"} |`);
  return lines.join("\n");
}

type Report = {
  when: string;
  durationS: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string; wrangler: string; autocannon: string };
  /** 1-minute load averages: other work on a shared machine skews every number (our own build and seed add some). */
  loadAverage: { beforeBench: number; start: number; end: number };
  seedSeconds: number;
  timeToFirstHealthzMs: number;
  signInSerialMs: number | null;
  targets: TargetResult[];
  bundle: { rawKiB: number; gzipKiB: number };
  startup: Startup;
  clientJs: ClientJs;
  budgets: Budget[];
  import: ImportMeasure | null;
};

function versionOf(pkg: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  }
}

async function main(): Promise<number> {
  if (process.argv.includes("--distance")) {
    return runDistance(distanceHelpers());
  }
  const ab = process.argv.indexOf("--ab");
  if (ab >= 0) {
    const ref = process.argv[ab + 1];
    if (!ref) throw new Error("--ab needs a git ref to compare with, e.g. npm run bench -- --ab HEAD~3 \"sign-in\"");
    build();
    return runAb({ ref, filter: process.argv[ab + 2], port: PORT, persistTo, staffCookie: STAFF_COOKIE, seed, waitForHealthz, stopWorker, requestOptions, load: loadUrl });
  }
  const hot = process.argv.indexOf("--hot");
  if (hot >= 0) {
    build();
    return runHot({ port: PORT, persistTo, floorState: floorState(persistTo), staffCookie: STAFF_COOKIE, seed, waitForHealthz, stopWorker, requestOptions, filter: process.argv[hot + 1] });
  }
  const total = performance.now();
  const loadBefore = loadavg()[0];
  if (loadBefore > cpus().length / 2) log(`warning: load average ${loadBefore.toFixed(1)} before the bench started; other work will skew the numbers`);
  log("building…");
  build();

  // Measured before the server starts so the load test does not share the CPU with them.
  log("measuring bundle, start-up and client JS…");
  const bundle = workerBundleSize();
  const startup = startupCpu();
  const clientJs = clientJsPerRoute();

  log(`seeding ${persistTo} (demo firms + ${LARGE_FIRM.contacts.toLocaleString()} contacts)…`);
  const seedStart = performance.now();
  await seed();
  const seedSeconds = (performance.now() - seedStart) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s`);

  const worker = startBenchApp(persistTo, PORT, { APP_URL: ORIGIN });
  const stop = () => void stopWorker(worker).then(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const floorWorker = startFloor(floorState(persistTo), FLOOR_PORT, ORIGIN);
  const stopBoth = () => Promise.all([stopWorker(worker), stopWorker(floorWorker)]);
  process.removeListener("SIGINT", stop);
  process.removeListener("SIGTERM", stop);
  const stopAll = () => void stopBoth().then(() => process.exit(130));
  process.once("SIGINT", stopAll);
  process.once("SIGTERM", stopAll);
  let timeToFirstHealthzMs: number;
  try {
    timeToFirstHealthzMs = await waitForHealthz(worker);
    await waitForHealthz(floorWorker, FLOOR_ORIGIN);
  } catch (error) {
    console.error(`[bench] the worker or its floor did not start: ${(error as Error).message}`);
    await stopBoth();
    return 1;
  }

  // The workerd processes that run the app and the floor, for the process-CPU measure (Linux only).
  const pagePid = runtimeProcess(worker.pid);
  const floorPid = runtimeProcess(floorWorker.pid);
  if (!pagePid || !floorPid) log("process CPU: the workerd processes were not found (Linux only); not measured");
  const loadStart = loadavg()[0];
  const results: TargetResult[] = [];
  let signInSerialMs: number | null = null;
  let importMeasure: ImportMeasure | null = null;
  try {
    await signInStaff(); // proves sign-in works; the targets use the seeded session
    const staffCookie = STAFF_COOKIE;
    for (const target of TARGETS) {
      const reason = await probe(target, staffCookie);
      if (reason) {
        log(`${target.name}: skipped (${reason})`);
        results.push({ name: target.name, method: target.method, path: target.path, status: "skipped", reason, page: target.page });
        continue;
      }
      let recording: Recording | null = null;
      const id = String(TARGETS.indexOf(target));
      if (target.method === "GET") recording = await record(FLOOR_ORIGIN, id, target.path, requestOptions(target, staffCookie).headers);
      log(`${target.name}: ${target.connections} connections for ${DURATION_S} s…`);
      const measured = await load(target, staffCookie);
      if (recording) {
        measured.statements = statementCount(recording);
        measured.roundTrips = recording.trips.length;
      }
      // A document with no D1 work (the staff sign-in page) is measured against the floor too, whose answer
      // then runs nothing: the difference is what a document costs by itself (reported, not held).
      if (recording && target.path !== "/healthz") {
        log(`${target.name}: its floor (${measured.statements} statements in ${measured.roundTrips} round trips)…`);
        measured.floor = await loadFloor(target, id);
        const { url, method, headers } = requestOptions(target, staffCookie);
        // A request that gets no answer in 30 s fails its round, which is run again (see below).
        const timeout = () => AbortSignal.timeout(30_000);
        const page = async () => void (await (await fetch(url, { method, headers, redirect: "manual", signal: timeout() })).arrayBuffer());
        const floor = async () => void (await (await fetch(`${FLOOR_ORIGIN}/__floor/${id}`, { signal: timeout() })).arrayBuffer());
        log(`${target.name}: CPU per request, ${CPU_ROUNDS} rounds of profiles of ${SHORT_RUNS} and ${SHORT_RUNS + CPU_RUNS} requests one at a time, page then floor…`);
        const pageCpu: CpuMeasure[] = [];
        const floorCpu: CpuMeasure[] = [];
        // Under the profiler a local request has, rarely, never been answered (one run in many, at random
        // targets): such a round is dropped and run again, twice at most, rather than ending the whole run.
        for (let round = 0, failures = 0; round < CPU_ROUNDS; ) {
          try {
            const pageMeasure = await cpuPerRequest(PORT + 1000, page, CPU_RUNS);
            // The floor's samples count with the period timed on the page's profile: the floor's JavaScript
            // comes in runs too short to time it (an empty floor's, almost never), and where both could be
            // timed they agreed (121-146 µs, docs/performance.md). The ratio is then the ratio of samples.
            floorCpu.push(await cpuPerRequest(FLOOR_PORT + 1000, floor, CPU_RUNS, pageMeasure.periodUs));
            pageCpu.push(pageMeasure);
            round++;
          } catch (error) {
            if (++failures > 2) throw error;
            log(`${target.name}: round ${round + 1} failed (${(error as Error).message}); running it again`);
          }
        }
        measured.cpuMs = median(pageCpu.map((m) => m.perRequestMs));
        measured.floorCpuMs = median(floorCpu.map((m) => m.perRequestMs));
        const ratios = pageCpu.map((m, i) => m.perRequestMs / Math.max(floorCpu[i].perRequestMs, 1e-3));
        measured.cpuRatio = median(ratios);
        measured.cpuFixedMs = median(pageCpu.map((m) => m.fixedMs));
        measured.floorCpuFixedMs = median(floorCpu.map((m) => m.fixedMs));
        log(
          `${target.name}: ${fmt(measured.cpuMs, 2)} ms a request against ${fmt(measured.floorCpuMs, 2)} (fixed cost a profile ${fmt(measured.cpuFixedMs, 0)} / ${fmt(measured.floorCpuFixedMs, 0)} ms; sampler period by round ${pageCpu.map((m) => fmt(m.periodUs)).join("/")} µs); ratio by round ${ratios.map((r) => fmt(r, 2)).join(" / ")}`,
        );
        if (pagePid && floorPid) {
          const pageMs: number[] = [];
          const floorMs: number[] = [];
          for (let round = 0; round < CPU_ROUNDS; round++) {
            pageMs.push(await processCpuPerRequest(pagePid, page, PROCESS_CPU_RUNS));
            floorMs.push(await processCpuPerRequest(floorPid, floor, PROCESS_CPU_RUNS));
          }
          measured.processCpuMs = median(pageMs);
          measured.floorProcessCpuMs = median(floorMs);
          log(`${target.name}: process CPU ${fmt(measured.processCpuMs, 2)} ms a request against ${fmt(measured.floorProcessCpuMs, 2)} (rounds ${pageMs.map((m) => fmt(m, 2)).join(" / ")} against ${floorMs.map((m) => fmt(m, 2)).join(" / ")})`);
        }
      }
      results.push(measured);
    }
    signInSerialMs = await serialSignInMs();
    // Last: it adds 20,000 contacts to the large firm (bench/import.ts).
    log("CSV import of 10,000 rows through the routes, timed, then profiled…");
    importMeasure = await measureImport({ origin: ORIGIN, inspectorPort: PORT + 1000, staffCookie: STAFF_COOKIE });
  } finally {
    await stopBoth();
  }

  const floor = results.find((r): r is Measured => r.status === "measured" && r.path === "/healthz");
  if (!floor) throw new Error("/healthz was not measured; nothing to compare against");
  for (const r of results) {
    if (r.status !== "measured") continue;
    r.rpsVsHealthz = r.rps / floor.rps;
    r.p99VsHealthz = r.p99Ms / Math.max(floor.p99Ms, 1);
  }

  const report: Report = {
    when: new Date().toISOString(),
    durationS: DURATION_S,
    machine: {
      cpu: cpus()[0]?.model.trim() ?? "unknown",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      node: process.versions.node,
      wrangler: versionOf("wrangler"),
      autocannon: versionOf("autocannon"),
    },
    loadAverage: { beforeBench: loadBefore, start: loadStart, end: loadavg()[0] },
    seedSeconds,
    timeToFirstHealthzMs,
    signInSerialMs,
    targets: results,
    bundle: { rawKiB: bundle.rawKiB, gzipKiB: bundle.gzipKiB },
    startup,
    clientJs,
    budgets: [...checkBudgets(results, bundle, startup, clientJs, signInSerialMs), ...(importMeasure ? importBudgets(importMeasure) : [])],
    import: importMeasure,
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/latest.json"), JSON.stringify(report, null, 2) + "\n");
  console.log("\n" + markdown(report) + "\n");
  if (importMeasure) console.log(importMarkdown(importMeasure) + "\n");
  // Issue 14 asks for far-client time to first byte in the same run; `--no-distance` leaves it out.
  if (!process.argv.includes("--no-distance")) {
    await runDistance({ built: true, ...distanceHelpers() });
  }
  log(`wrote bench/results/latest.json; whole run ${elapsed(total)}`);
  return 0;
}

function distanceHelpers() {
  return { port: PORT, floorPort: FLOOR_PORT, persistTo, floorState: floorState(persistTo), staffCookie: STAFF_COOKIE, seed, waitForHealthz, stopWorker, requestOptions };
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
