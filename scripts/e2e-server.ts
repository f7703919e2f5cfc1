// The server the browser tests run against: a fresh local state folder, migrated and seeded.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensureDevVars, migrate, root, seedDemo, startWorker } from "./local";

const persistTo = join(root, ".state/e2e");
const port = Number(process.env.E2E_PORT ?? 8799);
rmSync(persistTo, { recursive: true, force: true });
ensureDevVars();
migrate(persistTo);
await seedDemo(persistTo);
const worker = startWorker(persistTo, port);
worker.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => worker.kill(signal));
