// How the bench turns a CPU profile into the Worker's milliseconds (bench/samples.ts, ADR 025). The
// profiles here have the shape workerd's profiler gives: bursts of samples about 130 µs apart while the
// isolate runs JavaScript, and gaps of milliseconds between them with a few `(idle)` samples.
import { describe, expect, it } from "vitest";
import { samplePeriodUs, workerCpuMs, type Profile } from "../../bench/samples";

const JS = 2;
const IDLE = 3;
const PROGRAM = 4;
const nodes = [
  { id: 1, callFrame: { functionName: "(root)" } },
  { id: JS, callFrame: { functionName: "render" } },
  { id: IDLE, callFrame: { functionName: "(idle)" } },
  { id: PROGRAM, callFrame: { functionName: "(program)" } },
];

/**
 * `requests` requests, each a burst of `jsSamples` samples in JavaScript `periodUs` apart, then
 * `gapUs` of other work (D1, the proxy, the client) in which the profiler takes `idleSamples` samples
 * (an `(idle)` one, then `(program)` ones).
 */
function burstyProfile(requests: number, jsSamples: number, periodUs: number, gapUs: number, idleSamples = 2): Profile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  const slice = gapUs / (idleSamples + 1);
  for (let r = 0; r < requests; r++) {
    for (let s = 0; s < jsSamples; s++) {
      samples.push(JS);
      timeDeltas.push(s === 0 ? slice : periodUs);
    }
    for (let i = 0; i < idleSamples; i++) {
      samples.push(i === 0 ? IDLE : PROGRAM);
      timeDeltas.push(slice);
    }
  }
  const wall = timeDeltas.reduce((a, b) => a + b, 0);
  return { nodes, samples, timeDeltas, startTime: 0, endTime: wall };
}

/** What the bench computed until 2026-11-30: the share of samples in the Worker times the wall time. */
function shareOfWallMs(profile: Profile): number {
  const js = profile.samples.filter((id) => id === JS).length;
  return ((js / profile.samples.length) * (profile.endTime - profile.startTime)) / 1000;
}

describe("the Worker's CPU from a profile", () => {
  it("counts each sample in JavaScript as one period of the sampler, not a share of the wall time", () => {
    // A page: 7 samples a request at 130 µs (0.91 ms of JavaScript), 7 ms of other work.
    const page = burstyProfile(150, 7, 130, 7000);
    expect(samplePeriodUs(page)).toBe(130);
    expect(workerCpuMs(page) / 150).toBeCloseTo(0.91, 5);
    // The old product charged the gaps to the JavaScript: several times the real figure.
    expect(shareOfWallMs(page) / 150).toBeGreaterThan(5);
  });

  it("leaves the gaps between bursts out of the period, however many there are", () => {
    // Two samples a request and no sample between requests: half the consecutive pairs in JavaScript
    // span a request's 6 ms gap.
    const light = burstyProfile(300, 2, 140, 6000, 0);
    expect(samplePeriodUs(light)).toBe(140);
    expect(workerCpuMs(light) / 300).toBeCloseTo(0.28, 5);
  });

  it("falls back to any two close samples when the JavaScript comes one sample at a time", () => {
    // A floor: one JavaScript sample a request, so no two consecutive samples are both in it.
    const floor = burstyProfile(150, 1, 135, 600);
    expect(samplePeriodUs(floor)).toBe(200);
    // Given its page's period, as the bench gives it, the floor's figure is its samples times that.
    expect(workerCpuMs(floor, 130) / 150).toBeCloseTo(0.13, 5);
  });

  it("makes a page's ratio to its floor the ratio of their samples a request", () => {
    const page = burstyProfile(150, 7, 130, 7000);
    const floor = burstyProfile(150, 1, 130, 7000);
    const period = samplePeriodUs(page);
    expect(workerCpuMs(page, period) / workerCpuMs(floor, period)).toBeCloseTo(7, 5);
    // Share of wall time put that ratio at under 3 for the same work.
    expect(shareOfWallMs(page) / shareOfWallMs(floor)).toBeLessThan(3);
  });
});
