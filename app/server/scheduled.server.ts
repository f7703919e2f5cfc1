// Work done by the Cron Trigger. Each job is idempotent: a retried run does nothing twice.
import type { Database } from "./db.server";
import { deliverOutbox, transportFor } from "./outbox.server";
import { pruneRateLimits } from "./rate-limit.server";

export async function runScheduledJobs(env: Env, db: Database, now = Date.now()): Promise<void> {
  const transport = transportFor(env);
  if (transport) await deliverOutbox(db, transport, env.EMAIL_FROM, now, 100);
  await pruneRateLimits(db, now);
}
