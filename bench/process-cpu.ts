// CPU a request without a profiler (issue 14; docs/performance.md, "Method"): the time the kernel ran the
// threads of the workerd process that serves the Worker, read from /proc before and after N requests one at
// a time. The V8 profiler takes samples far less often than asked inside workerd, and not evenly over its
// wall time, so its figures are inflated and noisy. This figure is exact, but it is not the Worker's own
// CPU: the same process runs local D1's SQLite, and answers wrangler's proxy. A page and its floor both pay
// those for the same statements, so the difference between them is what the app adds, in real
// milliseconds. Linux only; elsewhere it reports nothing.
import { existsSync, readFileSync, readdirSync } from "node:fs";

function parentOf(pid: number): number | null {
  try {
    // The command name is in parentheses and may hold spaces: the fields after it are space-separated.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let at: number | null = pid, hops = 0; at && at > 1 && hops < 16; at = parentOf(at), hops++) {
    if (at === ancestor) return true;
  }
  return false;
}

/**
 * The workerd process that runs the Worker under `wrangler dev` started as `ancestor`: wrangler starts two,
 * a proxy and the runtime, and only the runtime has an inspector (`--inspector-addr`).
 */
export function runtimeProcess(ancestor: number | undefined): number | null {
  if (!ancestor || !existsSync("/proc/self/stat")) return null;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === ancestor) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!argv[0]?.endsWith("/workerd") || !argv.some((arg) => arg.startsWith("--inspector-addr"))) continue;
      if (descendsFrom(pid, ancestor)) return pid;
    } catch {
      // The process ended while it was read.
    }
  }
  return null;
}

/** Nanoseconds the process's threads have run on a CPU (the first field of each thread's schedstat). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return total;
}

/** Milliseconds of the process's CPU per request, over `runs` requests one at a time after 5 to warm. */
export async function processCpuPerRequest(pid: number, request: () => Promise<void>, runs: number): Promise<number> {
  for (let i = 0; i < 5; i++) await request();
  const before = cpuNs(pid);
  for (let i = 0; i < runs; i++) await request();
  return (cpuNs(pid) - before) / 1e6 / runs;
}
