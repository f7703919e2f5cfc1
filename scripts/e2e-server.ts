// The server the browser tests run against: a fresh local state folder, migrated and seeded, serving
// the app's worker wrapped with the firm fixture's route (test/e2e/worker.ts). Each test makes its own
// firm through that route; the demo seed is there for the tests of the demo itself.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { E2E_ENTRY, E2E_FIXTURE_TOKEN_FILE, E2E_PERSIST_TO as persistTo, E2E_PORT as port, E2E_SEEDED_DAY_FILE } from "./e2e-state";
import { ensureDevVars, migrate, seedDemo, startWorker } from "./local";

rmSync(persistTo, { recursive: true, force: true });
ensureDevVars();
migrate(persistTo);
const seededDay = new Date().toISOString().slice(0, 10);
await seedDemo(persistTo);
const token = randomBytes(32).toString("base64url");
mkdirSync(persistTo, { recursive: true });
writeFileSync(E2E_SEEDED_DAY_FILE, seededDay);
writeFileSync(E2E_FIXTURE_TOKEN_FILE, token, { mode: 0o600 });
const worker = startWorker(persistTo, port, { E2E_FIXTURE_TOKEN: token }, E2E_ENTRY);
worker.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => worker.kill(signal));
