import { fileURLToPath } from "node:url";
import { vitePlugin as remix } from "@remix-run/dev";
import { defineConfig } from "vite";

// The server bundle (pages and, through entry.server.tsx, the hono app; ADR 023) is imported by
// app/worker.ts and bundled again by wrangler for workerd, so it resolves packages with the worker
// conditions (react-dom/server.browser and friends).
export default defineConfig({
  plugins: [
    remix({
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
      },
    }),
  ],
  resolve: {
    alias: { "~": fileURLToPath(new URL("./app", import.meta.url)) },
    mainFields: ["browser", "module", "main"],
  },
  ssr: {
    target: "webworker",
    resolve: { conditions: ["workerd", "worker", "browser"], externalConditions: ["workerd", "worker"] },
  },
  // The manifest lets `npm run bench` size each route's client JS. Remix moves it to
  // build/.vite/client-manifest.json, outside the served assets directory.
  // BENCH_NO_MINIFY=1 keeps the app's function names for `npm run bench -- --hot` profiles.
  build: { minify: process.env.BENCH_NO_MINIFY ? false : true, manifest: true },
});
