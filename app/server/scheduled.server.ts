// Work done by the Cron Trigger. Each job is idempotent: a retried run does nothing twice.
import type { Database } from "./db.server";
import { CRON_SWEEP_MESSAGES, deliverOutbox, purgeOutbox, transportFor } from "./outbox-delivery.server";
import { pruneRateLimits } from "./rate-limit.server";
import { pruneIdempotencyKeys } from "./api/idempotency.server";
import { continueInviteRuns } from "./staff/invites.server";
import { sendDueReminders } from "./requests/reminders.server";
import { cancelAbandonedImports } from "./staff/contact-import.server";

export async function runScheduledJobs(env: Env, db: Database, now = Date.now()): Promise<void> {
  // Reminders first, so their emails leave in the same run.
  await sendDueReminders(db, env, now);
  // A bulk invite whose progress page was closed goes on here, a bounded chunk per run.
  await continueInviteRuns(db, env, now);
  const transport = transportFor(env);
  if (transport) await deliverOutbox(db, env, transport, now, CRON_SWEEP_MESSAGES);
  await purgeOutbox(db, now);
  await pruneRateLimits(db, now);
  // Idempotency records answer retries for 24 hours; older ones are only weight.
  await pruneIdempotencyKeys(db, now);
  // Uploaded contact files left unimported for a week are deleted from R2 (ADR 013).
  await cancelAbandonedImports(db, env, now);
}
