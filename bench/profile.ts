// CPU a request, locally (issue 14; docs/performance.md): the V8 sampling profiler over `wrangler dev`'s
// inspector. Profiler.start, N requests one at a time, Profiler.stop, twice with different N so that
// whatever a profile costs once cancels out. Each sample counts as one period of the sampler
// (samples.ts); only JavaScript frames and GC count, not `(program)` (workerd runs every isolate of the
// process, wrangler's proxy and local D1 on one thread) or `(idle)`. Absolute figures are a little high
// (sampling slows the isolate): compare targets in one run.
import { createRequire } from "node:module";
import { samplePeriodUs, workerCpuMs, type Profile } from "./samples";

type Socket = {
  on(event: "message", listener: (data: Buffer) => void): void;
  once(event: "open" | "error", listener: (error?: Error) => void): void;
  send(data: string): void;
  close(): void;
};

// `ws` is already installed (through @remix-run/dev); Node 20's WebSocket needs a flag.
const WebSocketClient = createRequire(import.meta.url)("ws") as new (url: string) => Socket;

export async function connect(inspectorPort: number): Promise<{ send: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  if (!targets[0]) throw new Error(`no inspector target on port ${inspectorPort}`);
  const socket = new WebSocketClient(targets[0].webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  return {
    send(method, params = {}) {
      const id = next++;
      socket.send(JSON.stringify({ id, method, params }));
      // A stalled inspector fails the run instead of holding it for ever.
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`inspector on port ${inspectorPort}: no answer to ${method} in 120 s`)), 120_000);
        pending.set(id, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
    },
    close: () => socket.close(),
  };
}

/**
 * Requests in the short profile of each pair. The pair was made to cancel a fixed cost a profile that
 * the old count (share of samples times wall time) found: a one-request profile of a warm page read many
 * times its per-request cost. That cost was the wall time of starting and stopping the profiler charged
 * to the JavaScript; counted by samples (samples.ts, ADR 025) it is 0 to 1 ms. The pair costs nothing and
 * still removes whatever a profile does once.
 */
export const SHORT_RUNS = 10;

/** Requests a CPU measure counts, beyond the short profile (above). */
export const CPU_RUNS = Number(process.env.BENCH_CPU_RUNS ?? 150);

export type CpuMeasure = {
  /** JavaScript and GC per request, the fixed cost removed. */
  perRequestMs: number;
  /** The fixed cost one profile carried: the short profile less its requests' share. */
  fixedMs: number;
  /** The sampler's real period while the isolate ran (`samplePeriodUs`), in microseconds. */
  periodUs: number;
};

/** What the profiler is asked for. It takes about one sample every 130-145 µs while the isolate runs. */
export const SAMPLING_INTERVAL_US = 50;

/**
 * Milliseconds of the Worker's own JavaScript (and GC) per request: two profiles, `SHORT_RUNS` requests
 * one at a time then `SHORT_RUNS + runs`; their difference divided by `runs`. `periodUs`: the sampler's
 * period to count each sample as, when the caller timed it on another profile (see bench/run.ts).
 */
export async function cpuPerRequest(inspectorPort: number, request: () => Promise<void>, runs: number, periodUs?: number): Promise<CpuMeasure> {
  // One connection for both profiles: wrangler's inspector proxy takes one client at a time, and a second
  // connection opened right after the first closed can wait for ever.
  const inspector = await connect(inspectorPort);
  try {
    for (let i = 0; i < 5; i++) await request(); // warm
    // Both profiles go through the same steps, so that whatever enabling and starting the profiler cost
    // falls on each of them alike and cancels out in the difference.
    const profiled = async (count: number) => {
      await inspector.send("Profiler.enable");
      await inspector.send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
      await inspector.send("Profiler.start");
      for (let i = 0; i < count; i++) await request();
      const { profile } = (await inspector.send("Profiler.stop")) as { profile: Profile };
      await inspector.send("Profiler.disable");
      return profile;
    };
    const short = await profiled(SHORT_RUNS);
    const long = await profiled(SHORT_RUNS + runs);
    // One period for both, timed on the long profile (the short one has too few samples to time it),
    // unless the caller timed it already.
    const period = periodUs ?? samplePeriodUs(long);
    const perRequestMs = Math.max(workerCpuMs(long, period) - workerCpuMs(short, period), 0) / runs;
    return { perRequestMs, fixedMs: Math.max(workerCpuMs(short, period) - SHORT_RUNS * perRequestMs, 0), periodUs: period };
  } finally {
    inspector.close();
  }
}
