// Email goes to the outbox table in the same D1 batch as the change that causes it, then a
// transport delivers it after the response (ctx.waitUntil) and the cron retries what failed.
// Nothing is lost when the provider is down.
import { and, asc, eq, isNull, lte } from "drizzle-orm";
import { outbox } from "../../db/schema";
import { generateId } from "./crypto.server";
import type { Database } from "./db.server";

export type EmailMessage = { firmId: string | null; to: string; subject: string; text: string };

export interface EmailTransport {
  readonly name: string;
  send(message: { from: string; to: string; subject: string; text: string }): Promise<void>;
}

export function outboxRow(message: EmailMessage, now = Date.now()): typeof outbox.$inferInsert {
  return {
    id: generateId(),
    firmId: message.firmId,
    toAddress: message.to,
    subject: message.subject,
    textBody: message.text,
    createdAt: now,
    nextAttemptAt: now,
  };
}

export function queueEmail(db: Database, message: EmailMessage, now = Date.now()) {
  return db.insert(outbox).values(outboxRow(message, now));
}

/** Posts JSON to a provider's HTTP API (Postmark/Resend-style). Any non-2xx is a failure to retry. */
export function httpTransport(url: string, apiKey: string): EmailTransport {
  return {
    name: "http",
    async send(message) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(message),
      });
      if (!response.ok) throw new Error(`Email provider answered ${response.status}`);
    },
  };
}

/** Development: the message is read in /dev/outbox, so delivering means marking it sent. */
export const devOutboxTransport: EmailTransport = { name: "dev-outbox", async send() {} };

export function transportFor(env: Env): EmailTransport | null {
  if (env.EMAIL_API_URL && env.EMAIL_API_KEY) return httpTransport(env.EMAIL_API_URL, env.EMAIL_API_KEY);
  if (env.ENVIRONMENT === "development") return devOutboxTransport;
  return null; // Not configured: messages stay queued until a transport is.
}

const BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 60 * 60_000, 12 * 60 * 60_000];

export type DeliveryReport = { sent: number; failed: number };

export async function deliverOutbox(
  db: Database,
  transport: EmailTransport,
  from: string,
  now = Date.now(),
  batchSize = 25,
): Promise<DeliveryReport> {
  const due = await db
    .select()
    .from(outbox)
    .where(and(isNull(outbox.sentAt), lte(outbox.nextAttemptAt, now)))
    .orderBy(asc(outbox.nextAttemptAt))
    .limit(batchSize);
  const report: DeliveryReport = { sent: 0, failed: 0 };
  for (const message of due) {
    try {
      await transport.send({ from, to: message.toAddress, subject: message.subject, text: message.textBody });
      await db.update(outbox).set({ sentAt: Date.now(), attempts: message.attempts + 1, lastError: null }).where(eq(outbox.id, message.id));
      report.sent++;
    } catch (error) {
      const delay = BACKOFF_MS[Math.min(message.attempts, BACKOFF_MS.length - 1)];
      await db
        .update(outbox)
        .set({
          attempts: message.attempts + 1,
          nextAttemptAt: now + delay,
          lastError: error instanceof Error ? error.message.slice(0, 500) : "unknown error",
        })
        .where(eq(outbox.id, message.id));
      report.failed++;
    }
  }
  return report;
}

/** Delivers after the response has gone out, so the answer does not depend on the mail provider. */
export function deliverSoon(env: Env, ctx: ExecutionContext, db: Database): void {
  const transport = transportFor(env);
  if (!transport) return;
  ctx.waitUntil(deliverOutbox(db, transport, env.EMAIL_FROM).catch(() => undefined));
}
