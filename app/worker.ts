// The Worker entry (wrangler.toml's `main`). Everything the worker runs is in the Remix server bundle
// made by `remix vite:build`: the pages, and the hono app around them (app/worker/app.ts), which the
// bundle exposes through its entry.server module. Importing the app's modules here as well would put a
// second copy of them in the worker, evaluated again at every start-up (ADR 023).
import type { ServerBuild } from "@remix-run/cloudflare";
import * as build from "../build/server/index.js";
import type * as EntryServer from "./entry.server";

const serverBuild = build as unknown as ServerBuild;
const { createWorker } = serverBuild.entry.module as unknown as typeof EntryServer;
const worker = createWorker(serverBuild);

export const app = worker.app;
export default worker.handler;
