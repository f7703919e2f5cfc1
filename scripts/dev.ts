// `npm run dev`: build, migrate and seed local D1 once, then serve the real worker in workerd.
// PORT=8788 npm run dev serves on 8788, and the links it emails point there too.
import { join } from "node:path";
import { build, ensureDevVars, migrate, root, seedDemo, startWorker } from "./local";

const persistTo = join(root, ".wrangler/state");
const port = Number(process.env.PORT ?? 8787);

ensureDevVars();
console.log("Building…");
build();
console.log("Applying migrations to local D1…");
migrate(persistTo);
await seedDemo(persistTo);

// The APP_URL of a local server (scripts/local.ts): a host name, so passkeys work in the browser.
const url = `http://localhost:${port}`;
console.log(`
  Client portal running at ${url}

  Staff sign-in   ${url}/login
    admin@harbor.test / demo-password-2026      (Harbor & Co, business plan, admin)
    staff@harbor.test / demo-password-2026      (Harbor & Co, member)
    admin@northwind.test / demo-password-2026   (Northwind Tax, team plan, admin)
  Client portals  ${url}/portal/harbor   ${url}/portal/northwind
    olivia@client.test, marcus@client.test (2FA key JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP), oscar@client.test
  Dev outbox      ${url}/dev/outbox
  Cron Trigger    curl "${url}/__scheduled?cron=*/5+*+*+*+*"   (reminders due today, outbox delivery)
`);
const worker = startWorker(persistTo, port);
worker.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => worker.kill(signal));
