// Turning a V8 CPU profile into the Worker's own milliseconds (issue 14, ADR 025), and the median every
// bench measure takes of its rounds. Free of Node's modules, apart from bench/profile.ts (which talks to
// the inspector) and bench/sizes.ts, so that test/unit/bench-samples.test.ts can run it inside workerd.

type Node = { id: number; callFrame: { functionName: string } };
export type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

/** Not the Worker's: the rest of the thread (other isolates, the proxy, local D1), idle, and the root. */
export const NOT_THE_WORKER = new Set(["(program)", "(idle)", "(root)"]);

/** Which of a profile's samples landed in the Worker's own JavaScript or GC. */
function workerSamples(profile: Profile): boolean[] {
  const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  return profile.samples.map((id) => !NOT_THE_WORKER.has(names.get(id) ?? "(program)"));
}

/** Gaps between samples of this length or more are time the isolate was not running (see below). */
const GAP_US = 1000;

/** The middle value (the upper of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The sampler's real period while the isolate runs, in microseconds: the median gap between two
 * consecutive samples that both landed in the Worker's JavaScript, gaps of 1 ms or more left out. Inside
 * workerd the profiler takes samples only while the isolate runs (and a few while it idles), about one
 * every 130-145 µs when asked for 50 (docs/performance.md, "Method"); between requests, and while the
 * thread runs local D1 or the proxy, there are none.
 */
export function samplePeriodUs(profile: Profile): number {
  const inWorker = workerSamples(profile);
  const gaps: number[] = [];
  for (let i = 1; i < inWorker.length; i++) {
    if (inWorker[i - 1] && inWorker[i] && profile.timeDeltas[i] < GAP_US) gaps.push(profile.timeDeltas[i]);
  }
  if (gaps.length >= 20) return median(gaps);
  // Too few runs of JavaScript to time (a profile of a few light requests): any two close samples.
  const any = profile.timeDeltas.slice(1).filter((d) => d < GAP_US);
  return any.length > 0 ? median(any) : GAP_US;
}

/** Samples in the Worker's own JavaScript and GC in one profile. */
function workerSampleCount(profile: Profile): number {
  return workerSamples(profile).filter(Boolean).length;
}

/**
 * Milliseconds of the Worker's own JavaScript and GC in one profile: its samples there, each standing for
 * one period of the sampler. Not the share of samples times the profile's wall time, as the bench had it
 * until 2026-11-30: samples are not spread evenly over the wall time (above), so that product charged
 * each request's idle time and local D1's to the JavaScript around it, more to a page than to its floor.
 * Its differences between a page and its floor agree with the process's CPU (ADR 025).
 */
export function workerCpuMs(profile: Profile, periodUs = samplePeriodUs(profile)): number {
  return (workerSampleCount(profile) * periodUs) / 1000;
}
