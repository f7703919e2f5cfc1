import { defineConfig } from "drizzle-kit";

// One migrations folder for wrangler (local and remote), the dev script and the tests.
export default defineConfig({
  dialect: "sqlite",
  schema: "./db/schema.ts",
  out: "./db/migrations",
});
