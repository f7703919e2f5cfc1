// The server the browser tests run against: a fresh local state folder, migrated and seeded.
// Each test makes its own firm in this state (test/e2e/firms.ts); the demo seed is there for the tests
// of the demo itself.
import { rmSync } from "node:fs";
import { E2E_PERSIST_TO as persistTo, E2E_PORT as port } from "./e2e-state";
import { ensureDevVars, migrate, seedDemo, startWorker } from "./local";

rmSync(persistTo, { recursive: true, force: true });
ensureDevVars();
migrate(persistTo);
await seedDemo(persistTo);
const worker = startWorker(persistTo, port);
worker.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => worker.kill(signal));
