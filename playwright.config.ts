import { defineConfig } from "@playwright/test";
import { chromiumPath } from "./scripts/chromium";
import { E2E_PORT as port } from "./scripts/e2e-state";

export default defineConfig({
  testDir: "test/e2e",
  // Each test makes its own firm (test/e2e/firms.ts), so tests run in any order and side by side
  // (checked with --workers=2 and with --shuffle). Two workers suit the 2-core machines this runs on:
  // the server, Chromium and the tests share them.
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"]],
  use: {
    // The server's APP_URL (scripts/local.ts): passkeys need a host name, not an IP address, as RP ID.
    baseURL: `http://localhost:${port}`,
    trace: "off",
    launchOptions: {
      executablePath: chromiumPath() ?? undefined,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: "node_modules/.bin/tsx scripts/e2e-server.ts",
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
