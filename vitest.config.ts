import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Tests run inside workerd against the real worker (SELF.fetch) with real local D1, KV and R2,
// migrated from the same folder wrangler uses.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(fileURLToPath(new URL("./db/migrations", import.meta.url)));
  return {
    plugins: [
      cloudflareTest({
        main: "./app/worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ENVIRONMENT: "test",
            APP_URL: "http://portal.test",
            EMAIL_FROM: "Client Portal <portal@example.test>",
            // Test-only keys; production keys are Worker secrets.
            TOTP_ENCRYPTION_KEY: "dGVzdC10b3RwLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=",
            RECOVERY_CODE_KEY: "dGVzdC1yZWNvdmVyeS1rZXktMDAwMDAwMDAwMDAwMDA=",
          },
        },
      }),
    ],
    // Per checkout, so parallel worktrees sharing node_modules do not fight over pre-bundles.
    cacheDir: fileURLToPath(new URL("./.cache/vite", import.meta.url)),
    resolve: { alias: { "~": fileURLToPath(new URL("./app", import.meta.url)) } },
    test: {
      include: ["test/{unit,integration,security}/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      testTimeout: 30_000,
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: ["@remix-run/cloudflare", "@remix-run/server-runtime", "cookie", "set-cookie-parser"],
          },
        },
      },
    },
  };
});
