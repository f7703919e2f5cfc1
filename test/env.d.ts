import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** A second database standing in for a lagging read replica (test/support/stale-replica.ts). */
      STALE_REPLICA_DB: D1Database;
    }
  }
}
export {};
