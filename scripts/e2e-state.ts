// Where the browser tests' server runs and keeps its state. Shared by playwright.config.ts, the server
// (scripts/e2e-server.ts) and the test fixture that asks that server for each test's firm.
import { join } from "node:path";
import { root } from "./local";

export const E2E_PORT = Number(process.env.E2E_PORT ?? 8799);
/** The `--persist-to` folder of the e2e server: local D1, KV and R2 under `v3/`. */
export const E2E_PERSIST_TO = join(root, ".state/e2e");
/** The e2e server's worker: the app's entry plus the firm fixture's route (test/e2e/worker.ts). */
export const E2E_ENTRY = "test/e2e/worker.ts";
/** Holds the token of the fixture route for this server start; the state folder is never committed. */
export const E2E_FIXTURE_TOKEN_FILE = join(E2E_PERSIST_TO, "fixture-token");
/** The UTC day the demo data was seeded on: its reminders are due relative to that day. */
export const E2E_SEEDED_DAY_FILE = join(E2E_PERSIST_TO, "seeded-day");
