// Delivering the outbox: transports, claiming due rows with a lease, retries with backoff, giving up
// for good (docs/decisions/014), and purging delivered messages.
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { contacts, firms, outbox } from "../../db/schema";
import { auditEvent } from "./audit.server";
import { generateId } from "./crypto.server";
import { runBatch, type Database } from "./db.server";
import { EmailDeliveryError, resendTransport } from "./email-provider.server";
import { encodeHexLowerCase } from "@oslojs/encoding";
import type { OutboxRow } from "./types";
import { DELIVERY_LEASE_MS, type EmailTransport, LEASE_MARGIN_MS, OUTBOX_RETENTION_MS, type OutgoingEmail, type SecretKeyEnv } from "./outbox.server";
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

export type DeliveryReport = { sent: number; failed: number; gaveUp: number; requests: number };

/** Messages one request's waitUntil delivers after its response: two batch requests (30 s allowed). */
export const DELIVER_SOON_MESSAGES = 200;
/**
 * Messages one cron sweep delivers (every 5 minutes; docs/decisions/018): 50 batch requests of 100,
 * 25 s at Resend's 2 requests a second, about 150 D1 queries and 50 subrequests, well inside a
 * paid invocation's 1,000 of each and a cron's 15 minutes. 10,000 invites leave in two sweeps.
 */
export const CRON_SWEEP_MESSAGES = 5_000;
/** Without a batch endpoint a group is sent one message at a time (each keyed by its own id). */
const GROUP_WITHOUT_BATCH = 25;

/**
 * Rows claimed together, sent together. `key` (stored in `claimed_by`) names the group for good: a
 * group whose send had an unknown outcome (timeout, 5xx, a run that died) is claimed again as the
 * same group and sent with the same idempotency key, so the provider drops the repeat. The claim's
 * lease end (`claimed_until`) tells this claim from a later one of the same group: a new claim is
 * made only after the old lease ended, so its lease ends later.
 */
type Group = { key: string; leaseEnd: number; rows: OutboxRow[] };

const pending = () => and(isNull(outbox.sentAt), isNull(outbox.failedAt));
const unclaimed = (now: number) => or(isNull(outbox.claimedUntil), lte(outbox.claimedUntil, now));
const heldBy = (group: Pick<Group, "key" | "leaseEnd">) => and(eq(outbox.claimedBy, group.key), eq(outbox.claimedUntil, group.leaseEnd));
/** The ids as one JSON parameter: a group of 100 stays within D1's 100 bound parameters. */
const idIn = (column: AnySQLiteColumn, ids: string[]) => sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/** Groups tried before whose lease has ended (or was handed back), oldest due first. */
async function earlierGroups(db: Database, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectDistinct({ key: outbox.claimedBy })
    .from(outbox)
    .where(and(pending(), lte(outbox.nextAttemptAt, now), isNotNull(outbox.claimedBy), unclaimed(now)))
    .limit(limit);
  return rows.map((r) => r.key!).filter(Boolean);
}

/**
 * Claims one group in one statement: D1 runs it atomically, so of two overlapping runs (the cron and a
 * request's waitUntil, or two requests) each row goes to one. A crashed run's claim lapses at
 * `claimed_until` and the group is due again, with the same members.
 */
async function claimGroup(db: Database, now: number, size: number, earlierKey: string | null): Promise<Group | null> {
  const leaseEnd = now + DELIVERY_LEASE_MS;
  if (earlierKey !== null) {
    const rows = await db
      .update(outbox)
      .set({ claimedUntil: leaseEnd })
      .where(and(eq(outbox.claimedBy, earlierKey), pending(), unclaimed(now)))
      .returning();
    return rows.length > 0 ? { key: earlierKey, leaseEnd, rows: sortByDue(rows) } : null;
  }
  const key = generateId();
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(pending(), lte(outbox.nextAttemptAt, now), isNull(outbox.claimedBy), unclaimed(now)))
    .orderBy(asc(outbox.nextAttemptAt))
    .limit(size);
  const rows = await db
    .update(outbox)
    .set({ claimedUntil: leaseEnd, claimedBy: key })
    // The conditions again on the row itself, so a row is taken only while it is still free.
    .where(and(inArray(outbox.id, due), pending(), isNull(outbox.claimedBy), unclaimed(now)))
    .returning();
  return rows.length > 0 ? { key, leaseEnd, rows: sortByDue(rows) } : null;
}

function sortByDue(rows: OutboxRow[]): OutboxRow[] {
  return rows.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
}

type DeliveryEnv = SecretKeyEnv & Pick<Env, "EMAIL_FROM">;
type Sender = { name: string; replyToEmail: string | null };

/** The firms whose messages a group holds, for From and Reply-To: one query per group. */
async function sendersOf(db: Database, rows: OutboxRow[]): Promise<Map<string, Sender>> {
  const ids = [...new Set(rows.map((row) => row.firmId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const found = await db.select({ id: firms.id, name: firms.name, replyToEmail: firms.replyToEmail }).from(firms).where(idIn(firms.id, ids));
  return new Map(found.map((firm) => [firm.id, firm]));
}

/** An error kept on the row: short, and never holding a link (a provider might echo what it was sent). */
function errorText(error: unknown, secretUrls: Array<string | null>): string {
  let message = error instanceof Error ? error.message : "unknown error";
  for (const url of secretUrls) if (url) message = message.replaceAll(url, "[link]");
  return message.slice(0, 500);
}

/** The provider's rate limit, kept by one run: waits until `minIntervalMs` after its previous request. */
function pacer(minIntervalMs: number): () => Promise<void> {
  let last = -Infinity;
  return async () => {
    // A Worker's clock moves only at I/O, and rendering a batch (sealed links opened, 100 messages built)
    // is CPU alone: without a turn of the event loop, `last` would be the time of the previous D1 read,
    // earlier than the request really leaves, and the next one would follow it too soon.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const wait = last + minIntervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    last = Date.now();
  };
}

/** The batch's idempotency key: its group and exactly its messages, so the same send repeats the same key. */
async function batchKey(group: string, ids: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...ids].sort().join(",")));
  return `outbox-batch/${group}/${encodeHexLowerCase(new Uint8Array(digest)).slice(0, 32)}`;
}

type Ready = { row: OutboxRow; email: OutgoingEmail; secretUrl: string | null };

/**
 * Delivers what is due, a group at a time (up to the transport's batch size, one provider request per
 * group when it has a batch endpoint), at most `maxMessages` messages, paced to the provider's rate
 * limit. Stops at the first sign that the provider is down or limiting us.
 */
export async function deliverOutbox(db: Database, env: DeliveryEnv, transport: EmailTransport, now = Date.now(), maxMessages = DELIVER_SOON_MESSAGES): Promise<DeliveryReport> {
  const started = Date.now();
  const report: DeliveryReport = { sent: 0, failed: 0, gaveUp: 0, requests: 0 };
  const groupSize = transport.batch?.maxMessages ?? GROUP_WITHOUT_BATCH;
  const pace = pacer(transport.minIntervalMs ?? 0);
  const leaseEnding = () => Date.now() - started > DELIVERY_LEASE_MS - LEASE_MARGIN_MS;
  // Groups tried before go first, as they were: a few at most, looked up once per run.
  const earlier = await earlierGroups(db, now, Math.max(1, Math.ceil(maxMessages / groupSize)));
  let handled = 0;
  while (handled < maxMessages && !leaseEnding()) {
    const group = await claimGroup(db, now, Math.min(groupSize, maxMessages - handled), earlier.shift() ?? null);
    if (!group) {
      if (earlier.length > 0) continue;
      break;
    }
    handled += group.rows.length;
    const go = await deliverGroup(db, env, transport, group, now, report, pace, leaseEnding);
    if (!go) break;
  }
  return report;
}

/** Sends one claimed group. Returns false when the run should stop (the provider is in trouble). */
async function deliverGroup(
  db: Database,
  env: DeliveryEnv,
  transport: EmailTransport,
  group: Group,
  now: number,
  report: DeliveryReport,
  pace: () => Promise<void>,
  leaseEnding: () => boolean,
): Promise<boolean> {
  const senders = await sendersOf(db, group.rows);
  const ready: Ready[] = [];
  for (const row of group.rows) {
    let secretUrl: string | null = null;
    try {
      // The sealed link is opened only here, as the message leaves (docs/decisions/008).
      const rendered = await renderOutboxMessage(env, row);
      secretUrl = row.sealedSecret ? await openSecret(env, row.id, row.sealedSecret) : null;
      const sender = row.firmId ? senders.get(row.firmId) : undefined;
      ready.push({
        row,
        secretUrl,
        email: { id: row.id, from: fromAddressFor(sender?.name ?? null, env.EMAIL_FROM), replyTo: sender?.replyToEmail ?? null, to: row.toAddress, ...rendered },
      });
    } catch (error) {
      // Cannot be rendered (its link cannot be opened): tried again later on its own, then given up.
      await recordFailure(db, [row], group, error, errorText(error, [secretUrl]), now, report, false);
    }
  }
  if (ready.length === 0) return true;
  if (!transport.batch || ready.length === 1) return sendOneByOne(db, transport, group, ready, now, report, pace, leaseEnding);

  await pace();
  report.requests++;
  try {
    await transport.batch.send(
      ready.map((r) => r.email),
      await batchKey(group.key, ready.map((r) => r.row.id)),
    );
  } catch (error) {
    const lastError = errorText(error, ready.map((r) => r.secretUrl));
    if (error instanceof EmailDeliveryError && error.permanent) {
      // The batch was refused whole (strict validation), so none of it went out. Each message goes on
      // alone, in a group of its own (keyed by its id): the refused one fails alone, the rest are sent.
      const ids = ready.map((r) => r.row.id);
      await db.update(outbox).set({ claimedBy: sql`${outbox.id}` }).where(and(heldBy(group), idIn(outbox.id, ids)));
      let go = true;
      for (const [index, item] of ready.entries()) {
        const own = { key: item.row.id, leaseEnd: group.leaseEnd, rows: [item.row] };
        if (!go || leaseEnding()) {
          await handBack(db, own);
          continue;
        }
        go = await sendOneByOne(db, transport, own, [item], now, report, pace, leaseEnding);
        if (!go) for (const rest of ready.slice(index + 1)) await handBack(db, { key: rest.row.id, leaseEnd: group.leaseEnd });
        if (!go) break;
      }
      return go;
    }
    // Down, slow or limiting us: the outcome may be unknown, so the group stays together for its next
    // attempt (same key), and the run stops: the next groups would only fail the same way.
    await recordFailure(db, ready.map((r) => r.row), group, error, lastError, now, report, true);
    return false;
  }
  await markSent(db, transport, group, ready.map((r) => r.row.id));
  report.sent += ready.length;
  return true;
}

/** The groups of one, or every message of a transport without a batch endpoint: keyed by message id. */
async function sendOneByOne(
  db: Database,
  transport: EmailTransport,
  group: Group,
  ready: Ready[],
  now: number,
  report: DeliveryReport,
  pace: () => Promise<void>,
  leaseEnding: () => boolean,
): Promise<boolean> {
  for (const [index, item] of ready.entries()) {
    if (leaseEnding()) {
      // Our claim is about to lapse and another run may take these rows: hand them back unsent.
      await handBack(db, group, ready.slice(index).map((r) => r.row.id));
      return false;
    }
    await pace();
    report.requests++;
    try {
      await transport.send(item.email);
    } catch (error) {
      await recordFailure(db, [item.row], group, error, errorText(error, [item.secretUrl]), now, report, false);
      // A refusal of this message (a 4xx about it) says nothing about the provider: it is given up alone
      // and the next messages go on (a batch split after a refusal relies on this).
      if (error instanceof EmailDeliveryError && !error.permanent) {
        // The provider is down, slow or limiting us: the rest would fail the same way and only add load.
        // They go back untouched (no attempt counted) for the next run.
        const rest = ready.slice(index + 1).map((r) => r.row.id);
        if (rest.length > 0) await handBack(db, group, rest);
        return false;
      }
      continue;
    }
    await markSent(db, transport, group, [item.row.id]);
    report.sent++;
  }
  return true;
}

async function markSent(db: Database, transport: EmailTransport, group: Group, ids: string[]): Promise<void> {
  await db
    .update(outbox)
    .set({
      sentAt: Date.now(),
      attempts: sql`${outbox.attempts} + 1`,
      lastError: null,
      claimedUntil: null,
      claimedBy: null,
      // Delivered: the link has left, so nothing here can open it any more.
      ...(transport.outboxIsMailbox ? {} : { sealedSecret: null }),
    })
    .where(and(heldBy(group), idIn(outbox.id, ids)));
}

/** Unsent rows go back, still in their group (a group tried before must stay whole). */
async function handBack(db: Database, group: Pick<Group, "key" | "leaseEnd">, ids?: string[]): Promise<void> {
  await db
    .update(outbox)
    .set({ claimedUntil: null })
    .where(and(heldBy(group), ids ? idIn(outbox.id, ids) : undefined));
}

/**
 * A failed attempt of these rows (one message, or a whole batch). Retried with backoff, never sooner
 * than the provider's Retry-After; a refused message, or rows that reached MAX_ATTEMPTS, are given up.
 * A batch is judged as one (its most-tried row), so it stays whole until it is sent or given up.
 */
async function recordFailure(
  db: Database,
  rows: OutboxRow[],
  group: Group,
  error: unknown,
  lastError: string,
  now: number,
  report: DeliveryReport,
  keepGroup: boolean,
): Promise<void> {
  const tried = Math.max(...rows.map((r) => r.attempts));
  const refused = error instanceof EmailDeliveryError && error.permanent;
  if (refused || tried + 1 >= MAX_ATTEMPTS) {
    for (const row of rows) await giveUp(db, row, { holder: heldBy(group)!, attempts: row.attempts + 1, lastError, at: Date.now() });
    report.gaveUp += rows.length;
    return;
  }
  const backoff = BACKOFF_MS[Math.min(tried, BACKOFF_MS.length - 1)];
  const asked = error instanceof EmailDeliveryError && error.retryAfterMs !== null ? Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
  await db
    .update(outbox)
    .set({
      attempts: sql`${outbox.attempts} + 1`,
      nextAttemptAt: now + Math.max(backoff, asked),
      claimedUntil: null,
      ...(keepGroup ? {} : { claimedBy: null }),
      lastError,
    })
    .where(and(heldBy(group), idIn(outbox.id, rows.map((r) => r.id))));
  report.failed += rows.length;
}

/**
 * Marks a message failed for good: never retried, its link erased (it will never be sent), and the
 * firm's audit log told, with the recipient and subject (not the body). One batch, so the log and the
 * state agree.
 */
async function giveUp(db: Database, message: OutboxRow, outcome: { holder: SQL; attempts: number; lastError: string; at: number }) {
  const mark = db
    .update(outbox)
    .set({ failedAt: outcome.at, attempts: outcome.attempts, lastError: outcome.lastError, sealedSecret: null, claimedUntil: null, claimedBy: null })
    .where(and(eq(outbox.id, message.id), outcome.holder));
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
