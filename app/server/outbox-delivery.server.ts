// Delivering the outbox: transports, claiming due rows with a lease, retries with backoff, giving up
// for good (docs/decisions/014), and purging delivered messages.
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { contacts, firms, outbox } from "../../db/schema";
import { auditEvent } from "./audit.server";
import { generateId } from "./crypto.server";
import { runBatch, type Database } from "./db.server";
import { EmailDeliveryError, resendTransport } from "./email-provider.server";
import type { OutboxRow } from "./types";
import { DELIVERY_LEASE_MS, type EmailTransport, LEASE_MARGIN_MS, OUTBOX_RETENTION_MS, type SecretKeyEnv } from "./outbox.server";
import { openSecret } from "./outbox-sealing.server";
import { fromAddressFor, renderOutboxMessage } from "./outbox-render.server";

// ---------------------------------------------------------------------------------------------
// Transports

/** Development: the message is read in /dev/outbox, so delivering means marking it sent. */
export const devOutboxTransport: EmailTransport = { name: "dev-outbox", outboxIsMailbox: true, async send() {} };

export function transportFor(env: Env): EmailTransport | null {
  if (env.EMAIL_API_URL && env.EMAIL_API_KEY) return resendTransport({ baseUrl: env.EMAIL_API_URL, apiKey: env.EMAIL_API_KEY });
  if (env.ENVIRONMENT === "development") return devOutboxTransport;
  return null; // Not configured: messages stay queued until a transport is.
}

// ---------------------------------------------------------------------------------------------
// Delivery

/**
 * Waits before attempt n+1 (exponential, about x5 each time: 1 min, 5 min, 30 min, 2 h, then 12 h), so a
 * short outage costs minutes and a long one does not hammer the provider.
 */
export const BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 60 * 60_000, 12 * 60 * 60_000];
/**
 * After this many failed attempts (about 38 hours of trying) a message is given up and marked failed:
 * staff see it on the contact's page and can send a new link once the address is fixed.
 */
export const MAX_ATTEMPTS = 8;
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;

export type DeliveryReport = { sent: number; failed: number; gaveUp: number };

/**
 * Claims due rows nobody holds, in one statement: D1 runs it atomically, so of two overlapping runs
 * (the cron and a request's waitUntil, or two requests) each row goes to one. A crashed run's claim
 * lapses at `claimed_until` and the row is due again.
 */
async function claimDue(db: Database, runId: string, now: number, batchSize: number): Promise<OutboxRow[]> {
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(isNull(outbox.sentAt), isNull(outbox.failedAt), lte(outbox.nextAttemptAt, now), or(isNull(outbox.claimedUntil), lte(outbox.claimedUntil, now))))
    .orderBy(asc(outbox.nextAttemptAt))
    .limit(batchSize);
  const claimed = await db
    .update(outbox)
    .set({ claimedUntil: now + DELIVERY_LEASE_MS, claimedBy: runId })
    // The conditions again on the row itself, so a row is taken only while it is still free.
    .where(and(inArray(outbox.id, due), isNull(outbox.sentAt), isNull(outbox.failedAt), or(isNull(outbox.claimedUntil), lte(outbox.claimedUntil, now))))
    .returning();
  return claimed.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
}

type DeliveryEnv = SecretKeyEnv & Pick<Env, "EMAIL_FROM">;
type Sender = { name: string; replyToEmail: string | null };

/** The firms whose messages a run sends, for From and Reply-To: one query per run. */
async function sendersOf(db: Database, rows: OutboxRow[]): Promise<Map<string, Sender>> {
  const ids = [...new Set(rows.map((row) => row.firmId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const found = await db.select({ id: firms.id, name: firms.name, replyToEmail: firms.replyToEmail }).from(firms).where(inArray(firms.id, ids));
  return new Map(found.map((firm) => [firm.id, firm]));
}

/** An error kept on the row: short, and never holding the link (a provider might echo what it was sent). */
function errorText(error: unknown, secretUrl: string | null): string {
  const message = error instanceof Error ? error.message : "unknown error";
  return (secretUrl ? message.replaceAll(secretUrl, "[link]") : message).slice(0, 500);
}

export async function deliverOutbox(db: Database, env: DeliveryEnv, transport: EmailTransport, now = Date.now(), batchSize = 25): Promise<DeliveryReport> {
  const runId = generateId();
  const started = Date.now();
  const claimed = await claimDue(db, runId, now, batchSize);
  const report: DeliveryReport = { sent: 0, failed: 0, gaveUp: 0 };
  if (claimed.length === 0) return report;
  const senders = await sendersOf(db, claimed);
  const ours = (id: string) => and(eq(outbox.id, id), eq(outbox.claimedBy, runId));
  const handBack = (ids: string[]) =>
    db.update(outbox).set({ claimedUntil: null, claimedBy: null }).where(and(inArray(outbox.id, ids), eq(outbox.claimedBy, runId)));

  for (const [index, message] of claimed.entries()) {
    if (Date.now() - started > DELIVERY_LEASE_MS - LEASE_MARGIN_MS) {
      // Our claim is about to lapse and another run may take these rows: hand them back unsent.
      await handBack(claimed.slice(index).map((m) => m.id));
      break;
    }
    let secretUrl: string | null = null;
    try {
      const rendered = await renderOutboxMessage(env, message);
      secretUrl = message.sealedSecret ? await openSecret(env, message.id, message.sealedSecret) : null;
      const sender = message.firmId ? senders.get(message.firmId) : undefined;
      await transport.send({
        id: message.id,
        from: fromAddressFor(sender?.name ?? null, env.EMAIL_FROM),
        replyTo: sender?.replyToEmail ?? null,
        to: message.toAddress,
        ...rendered,
      });
      await db
        .update(outbox)
        .set({
          sentAt: Date.now(),
          attempts: message.attempts + 1,
          lastError: null,
          claimedUntil: null,
          claimedBy: null,
          // Delivered: the link has left, so nothing here can open it any more.
          ...(transport.outboxIsMailbox ? {} : { sealedSecret: null }),
        })
        .where(ours(message.id));
      report.sent++;
    } catch (error) {
      const attempts = message.attempts + 1;
      const lastError = errorText(error, secretUrl);
      const refused = error instanceof EmailDeliveryError && error.permanent;
      if (refused || attempts >= MAX_ATTEMPTS) {
        await giveUp(db, message, { runId, attempts, lastError, at: Date.now() });
        report.gaveUp++;
        continue;
      }
      const backoff = BACKOFF_MS[Math.min(message.attempts, BACKOFF_MS.length - 1)];
      const asked = error instanceof EmailDeliveryError && error.retryAfterMs !== null ? Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
      await db
        .update(outbox)
        .set({ attempts, nextAttemptAt: now + Math.max(backoff, asked), claimedUntil: null, claimedBy: null, lastError })
        .where(ours(message.id));
      report.failed++;
      if (error instanceof EmailDeliveryError) {
        // The provider is down, slow or limiting us: the rest of the batch would fail the same way and
        // only add load. They go back untouched (no attempt counted) for the next run.
        const rest = claimed.slice(index + 1).map((m) => m.id);
        if (rest.length > 0) await handBack(rest);
        break;
      }
    }
  }
  return report;
}

/**
 * Marks a message failed for good: never retried, its link erased (it will never be sent), and the
 * firm's audit log told, with the recipient and subject (not the body). One batch, so the log and the
 * state agree.
 */
async function giveUp(db: Database, message: OutboxRow, outcome: { runId: string; attempts: number; lastError: string; at: number }) {
  const mark = db
    .update(outbox)
    .set({ failedAt: outcome.at, attempts: outcome.attempts, lastError: outcome.lastError, sealedSecret: null, claimedUntil: null, claimedBy: null })
    .where(and(eq(outbox.id, message.id), eq(outbox.claimedBy, outcome.runId)));
  if (!message.firmId) {
    await mark;
    return;
  }
  const [contact] = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.firmId, message.firmId), eq(contacts.email, message.toAddress)))
    .limit(1);
  await runBatch(db, [
    mark,
    auditEvent(db, {
      firmId: message.firmId,
      type: "email.failed",
      actor: { type: "system" },
      contactId: contact?.id ?? null,
      detail: { to: message.toAddress, subject: message.subject, attempts: outcome.attempts, error: outcome.lastError, emailId: message.id },
      at: outcome.at,
    }),
  ]);
}

/**
 * The latest message to a contact that has settled (delivered or failed for good), as a scalar subquery
 * for the contact page's one query: `{"subject", "failedAt", "sentAt"}` as JSON, or null. Matches the
 * contact's address and their portal login's, within the firm (index outbox_recipient_idx).
 */
/** `firmId` and `addresses` are columns of the outer query (qualified: a subquery must not resolve them to outbox's own). */
export function lastSettledEmailSql(firmId: AnySQLiteColumn | SQL, addresses: Array<AnySQLiteColumn | SQL>): SQL<string | null> {
  return sql<string | null>`(SELECT json_object('subject', "o"."subject", 'sentAt', "o"."sent_at", 'failedAt', "o"."failed_at")
    FROM ${outbox} AS "o" WHERE "o"."firm_id" = ${firmId} AND "o"."to_address" IN (${sql.join(addresses, sql`, `)})
    AND ("o"."sent_at" IS NOT NULL OR "o"."failed_at" IS NOT NULL) ORDER BY "o"."created_at" DESC LIMIT 1)`;
}

export type EmailFailure = { subject: string; failedAt: number };

/** The contact page's notice: the last settled email to this contact failed, or null. */
export function lastEmailFailure(settled: string | null): EmailFailure | null {
  if (!settled) return null;
  try {
    const parsed = JSON.parse(settled) as { subject?: unknown; failedAt?: unknown };
    return typeof parsed.subject === "string" && typeof parsed.failedAt === "number" ? { subject: parsed.subject, failedAt: parsed.failedAt } : null;
  } catch {
    return null;
  }
}

/** Delivers after the response has gone out, so the answer does not depend on the mail provider. */
export function deliverSoon(env: Env, ctx: ExecutionContext, db: Database): void {
  const transport = transportFor(env);
  if (!transport) return;
  ctx.waitUntil(deliverOutbox(db, env, transport).catch(() => undefined));
}

/**
 * Deletes messages delivered more than OUTBOX_RETENTION_MS ago, and those never delivered in that time
 * (every link in them has long expired). Run by the cron.
 */
export async function purgeOutbox(db: Database, now = Date.now()): Promise<void> {
  const cutoff = now - OUTBOX_RETENTION_MS;
  await db
    .delete(outbox)
    .where(or(and(isNotNull(outbox.sentAt), lt(outbox.sentAt, cutoff)), and(isNull(outbox.sentAt), lt(outbox.createdAt, cutoff))));
}
