// Where the browser tests' server runs and keeps its state. Shared by playwright.config.ts, the server
// (scripts/e2e-server.ts) and the test fixture that writes each test's firm into that state.
import { join } from "node:path";
import { root } from "./local";

export const E2E_PORT = Number(process.env.E2E_PORT ?? 8799);
/** The `--persist-to` folder of the e2e server: local D1, KV and R2 under `v3/`. */
export const E2E_PERSIST_TO = join(root, ".state/e2e");
