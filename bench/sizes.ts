// Size and start-up of the built worker: what Cloudflare uploads, what the isolate runs before its
// first request, and what each page makes the browser download.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { root } from "../scripts/local";
import { median } from "./samples";

const wranglerBin = join(root, "node_modules/.bin/wrangler");
const KiB = 1024;

function gzipBytes(file: string): number {
  return gzipSync(readFileSync(file)).length;
}

export type BundleSize = { files: string[]; rawKiB: number; gzipKiB: number };

/** The upload `wrangler deploy --minify` would send, gzipped here file by file (source maps excluded). */
export function workerBundleSize(): BundleSize {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  try {
    // `--env ""` picks the top-level environment explicitly, which wrangler asks for when [env.*] exists.
    execFileSync(wranglerBin, ["deploy", "--dry-run", "--minify", "--outdir", outdir, "--env="], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const files = readdirSync(outdir).filter((f) => !f.endsWith(".map") && f !== "README.md");
    let raw = 0;
    let gz = 0;
    for (const f of files) {
      raw += statSync(join(outdir, f)).size;
      gz += gzipBytes(join(outdir, f));
    }
    return { files, rawKiB: raw / KiB, gzipKiB: gz / KiB };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

type CpuProfile = { nodes: Array<{ id: number; callFrame: { functionName: string } }>; samples: number[]; timeDeltas: number[] };

/** CPU time in a V8 profile, without the idle samples before and after the startup phase. */
export function busyMs(profile: CpuProfile): number {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  let micros = 0;
  profile.samples.forEach((node, i) => {
    if (!idle.has(node)) micros += profile.timeDeltas[i] ?? 0;
  });
  return micros / 1000;
}

/** The middle value (the upper one of an even count). */
export type Startup = { ok: true; runsMs: number[]; medianMs: number } | { ok: false; reason: string };

/**
 * Start-up CPU from `wrangler check startup` (a profile of the global scope of the minified bundle,
 * taken in local workerd). Sampled profiles of a ~40 ms phase are noisy: take the median of `runs`, after
 * one run that is not counted. The first run of a bench pays for cold files (workerd's binary, the
 * bundle): measured at 04:33 UTC, 75.6 ms against 35.4 to 40.0 ms for the six runs after it, which is a
 * property of the machine, not of the Worker.
 */
export function startupCpu(runs = 5): Startup {
  const dir = mkdtempSync(join(tmpdir(), "bench-startup-"));
  try {
    const samples: number[] = [];
    for (let i = -1; i < runs; i++) {
      const outfile = join(dir, `startup-${i}.cpuprofile`);
      try {
        execFileSync(wranglerBin, ["check", "startup", "--args=--minify", "--outfile", outfile], {
          cwd: root,
          stdio: ["ignore", "ignore", "pipe"],
          timeout: 120_000,
        });
      } catch (error) {
        const stderr = String((error as { stderr?: Buffer }).stderr ?? error).trim().split("\n").slice(-3).join(" ");
        return { ok: false, reason: `wrangler check startup failed: ${stderr}` };
      }
      if (!existsSync(outfile)) return { ok: false, reason: "wrangler check startup wrote no profile" };
      if (i >= 0) samples.push(busyMs(JSON.parse(readFileSync(outfile, "utf8")) as CpuProfile));
    }
    return { ok: true, runsMs: samples, medianMs: median(samples) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type ManifestChunk = { file: string; imports?: string[]; isEntry?: boolean };
type ViteManifest = Record<string, ManifestChunk>;

export type RouteJs = { route: string; files: number; gzipKiB: number };
export type ClientJs = { ok: true; routes: RouteJs[] } | { ok: false; reason: string };

function routeIdOf(manifestKey: string): string | null {
  const match = /^app\/routes\/(.+?)(\/route)?\.[jt]sx?(\?.*)?$/.exec(manifestKey);
  return match ? match[1] : null;
}

/**
 * Client JS a first visit to each route downloads: the entry client, the root route, the route's
 * layout parents (flat-route id prefixes, so `app.contacts._index` sits under `app`), the route,
 * every chunk they import, and Remix's route manifest (`assets/manifest-<hash>.js`, loaded by every
 * page and not in Vite's manifest). Each file counted once, gzipped.
 */
export function clientJsPerRoute(): ClientJs {
  // Remix moves Vite's client manifest out of build/client when `build.manifest` is on.
  const manifestFile = [join(root, "build/.vite/client-manifest.json"), join(root, "build/client/.vite/manifest.json")].find(existsSync);
  if (!manifestFile) {
    return { ok: false, reason: "no Vite client manifest (vite.config.ts needs build.manifest: true)" };
  }
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as ViteManifest;
  const keys = Object.keys(manifest);
  const entryKey = keys.find((k) => /entry\.client\.[jt]sx?(\?.*)?$/.test(k));
  const rootKey = keys.find((k) => /^app\/root\.[jt]sx?(\?.*)?$/.test(k));
  if (!entryKey || !rootKey) return { ok: false, reason: "the Vite manifest has no entry client or root route" };
  const routeKeys = new Map<string, string>();
  for (const key of keys) {
    const id = routeIdOf(key);
    if (id) routeKeys.set(id, key);
  }
  const gzipCache = new Map<string, number>();
  const gz = (file: string) => {
    let size = gzipCache.get(file);
    if (size === undefined) gzipCache.set(file, (size = gzipBytes(join(root, "build/client", file))));
    return size;
  };
  const collect = (key: string, seen: Set<string>) => {
    if (seen.has(key) || !manifest[key]) return;
    seen.add(key);
    for (const imported of manifest[key].imports ?? []) collect(imported, seen);
  };
  const remixManifest = readdirSync(join(root, "build/client/assets"))
    .filter((f) => /^manifest-[\w-]+\.js$/.test(f))
    .map((f) => `assets/${f}`);
  const routes: RouteJs[] = [];
  for (const [id, key] of [...routeKeys].sort(([a], [b]) => a.localeCompare(b))) {
    const seen = new Set<string>();
    collect(entryKey, seen);
    collect(rootKey, seen);
    const segments = id.split(".");
    for (let i = 1; i < segments.length; i++) {
      const parent = routeKeys.get(segments.slice(0, i).join("."));
      if (parent) collect(parent, seen);
    }
    collect(key, seen);
    const files = [...[...seen].map((k) => manifest[k].file).filter((f) => f.endsWith(".js")), ...remixManifest];
    routes.push({ route: id, files: files.length, gzipKiB: files.reduce((sum, f) => sum + gz(f), 0) / KiB });
  }
  return { ok: true, routes };
}
