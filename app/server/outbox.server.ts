// Email goes to the outbox table in the same D1 batch as the change that causes it, then a
// transport delivers it after the response (ctx.waitUntil) and the cron retries what failed.
// Nothing is lost when the provider is down.
//
// No usable token at rest (SECURITY.md rule 1, docs/decisions/008): a message that carries a secret link
// is stored with SECRET_URL_PLACEHOLDER where the link goes, and the link itself is sealed with AES-GCM
// under a key derived from a Worker secret, bound to the row id. It is opened and rendered into the
// message only at delivery, then erased. Delivered messages are purged after OUTBOX_RETENTION_MS.
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, or } from "drizzle-orm";
import { decodeBase64, encodeBase64 } from "@oslojs/encoding";
import { outbox } from "../../db/schema";
import { generateId, randomBytes } from "./crypto.server";
import type { Database } from "./db.server";

/** Stands where the secret link goes in a stored body; replaced only at delivery. */
export const SECRET_URL_PLACEHOLDER = "{{secret_url}}";

/** A message with nothing secret in it (notices, staff notifications). */
export type EmailMessage = { firmId: string | null; to: string; subject: string; text: string; secretUrl?: undefined };

/** A message whose `text` holds SECRET_URL_PLACEHOLDER where `secretUrl` (a live token) goes. */
export type EmailWithSecret = { firmId: string | null; to: string; subject: string; text: string; secretUrl: string };

/** What a transport sends: rendered, with the outbox id as the provider's idempotency key. */
export type OutgoingEmail = { id: string; from: string; to: string; subject: string; text: string };

export interface EmailTransport {
  readonly name: string;
  /**
   * True when the outbox row itself is the mailbox (development's /dev/outbox): the sealed link then
   * stays (still sealed) after "delivery" so the developer can open it, until the retention purge.
   */
  readonly outboxIsMailbox?: boolean;
  send(message: OutgoingEmail): Promise<void>;
}

type OutboxRow = typeof outbox.$inferSelect;
type SecretKeyEnv = Pick<Env, "TOTP_ENCRYPTION_KEY">;

/** Delivered messages are kept this long (support can see what went out), then deleted by the cron. */
export const OUTBOX_RETENTION_MS = 30 * 24 * 60 * 60_000;
/**
 * How long a delivery run holds the rows it claimed. Longer than a run can take (a waitUntil ends 30 s
 * after the response; a run stops sending before its lease ends), short enough that a crashed run's
 * rows go out at the next cron.
 */
export const DELIVERY_LEASE_MS = 5 * 60_000;
const LEASE_MARGIN_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Sealing the secret link

/**
 * Its own AES-GCM key, derived with HKDF from the Worker secret that seals TOTP secrets: a distinct
 * `info` keeps the two uses apart without another secret to provision.
 */
async function outboxKey(env: SecretKeyEnv): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey("raw", new Uint8Array(decodeBase64(env.TOTP_ENCRYPTION_KEY)), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("client-portal outbox secret url v1") },
    master,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** The row id is the additional data: a sealed link copied onto another message does not open. */
async function sealSecret(env: SecretKeyEnv, rowId: string, secret: string): Promise<string> {
  const iv = randomBytes(12);
  const additionalData = new TextEncoder().encode(`outbox:${rowId}`);
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, await outboxKey(env), new TextEncoder().encode(secret));
  const out = new Uint8Array(12 + ciphertext.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ciphertext), 12);
  return encodeBase64(out);
}

/** Null when the ciphertext was tampered with, moved to another row, or sealed under another key. */
async function openSecret(env: SecretKeyEnv, rowId: string, sealed: string): Promise<string | null> {
  try {
    const bytes = new Uint8Array(decodeBase64(sealed));
    if (bytes.length < 12 + 16) return null;
    const additionalData = new TextEncoder().encode(`outbox:${rowId}`);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData }, await outboxKey(env), bytes.slice(12));
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Queueing

/** A message with a secret link, sealed for its row: the only form in which such a message is stored. */
export type SealedEmail = { readonly sealedRow: typeof outbox.$inferInsert };

export function outboxRow(message: EmailMessage | SealedEmail, now = Date.now()): typeof outbox.$inferInsert {
  if ("sealedRow" in message) return message.sealedRow;
  // The types already refuse a secret here; this keeps a cast from storing one in clear.
  if ((message as { secretUrl?: unknown }).secretUrl !== undefined) throw new Error("A message with a secret link must be sealed first (sealEmail)");
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

export function queueEmail(db: Database, message: EmailMessage | SealedEmail, now = Date.now()) {
  return db.insert(outbox).values(outboxRow(message, now));
}

/** Seals a message's link for its row: the body keeps the placeholder, the link is encrypted. */
export async function sealEmail(env: SecretKeyEnv, message: EmailWithSecret, now = Date.now()): Promise<SealedEmail> {
  if (!message.text.includes(SECRET_URL_PLACEHOLDER)) throw new Error("The message has no place for its link");
  const { secretUrl, ...plain } = message;
  const row = outboxRow(plain, now);
  return { sealedRow: { ...row, sealedSecret: await sealSecret(env, row.id!, secretUrl) } };
}

// ---------------------------------------------------------------------------------------------
// Rendering: done only when the message leaves (or in development, when /dev/outbox shows it)

/**
 * Puts the link where the stored body has its placeholder. An HTML body will go through the same step
 * with an HTML escaper, so a body template and its link are never joined before delivery.
 */
export function fillSecretUrl(template: string, secretUrl: string, escape: (value: string) => string = (value) => value): string {
  return template.replaceAll(SECRET_URL_PLACEHOLDER, escape(secretUrl));
}

export type RenderedEmail = { subject: string; text: string };

/**
 * The message as it is sent. `missing` says what stands in for a link that can no longer be opened
 * (erased after delivery, or sealed under a key that is gone); without it such a message is an error,
 * because sending it would mail a broken link.
 */
export async function renderOutboxMessage(env: SecretKeyEnv, row: OutboxRow, missing?: string): Promise<RenderedEmail> {
  if (!row.sealedSecret) {
    if (!row.textBody.includes(SECRET_URL_PLACEHOLDER)) return { subject: row.subject, text: row.textBody };
    if (missing === undefined) throw new Error("The message's link was erased");
    return { subject: row.subject, text: fillSecretUrl(row.textBody, missing) };
  }
  const secretUrl = await openSecret(env, row.id, row.sealedSecret);
  if (secretUrl === null) {
    if (missing === undefined) throw new Error("The message's link cannot be opened");
    return { subject: row.subject, text: fillSecretUrl(row.textBody, missing) };
  }
  return { subject: row.subject, text: fillSecretUrl(row.textBody, secretUrl) };
}

// ---------------------------------------------------------------------------------------------
// Transports

/** Posts JSON to a provider's HTTP API (Postmark/Resend-style). Any non-2xx is a failure to retry. */
export function httpTransport(url: string, apiKey: string): EmailTransport {
  return {
    name: "http",
    async send(message) {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${apiKey}`,
          // A run that sent but could not record it (D1 down) sends again after its lease: providers
          // that honour this header drop the repeat.
          "idempotency-key": message.id,
        },
        body: JSON.stringify({ from: message.from, to: message.to, subject: message.subject, text: message.text }),
      });
      if (!response.ok) throw new Error(`Email provider answered ${response.status}`);
    },
  };
}

/** Development: the message is read in /dev/outbox, so delivering means marking it sent. */
export const devOutboxTransport: EmailTransport = { name: "dev-outbox", outboxIsMailbox: true, async send() {} };

export function transportFor(env: Env): EmailTransport | null {
  if (env.EMAIL_API_URL && env.EMAIL_API_KEY) return httpTransport(env.EMAIL_API_URL, env.EMAIL_API_KEY);
  if (env.ENVIRONMENT === "development") return devOutboxTransport;
  return null; // Not configured: messages stay queued until a transport is.
}

// ---------------------------------------------------------------------------------------------
// Delivery

const BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 60 * 60_000, 12 * 60 * 60_000];

export type DeliveryReport = { sent: number; failed: number };

/**
 * Claims due rows nobody holds, in one statement: D1 runs it atomically, so of two overlapping runs
 * (the cron and a request's waitUntil, or two requests) each row goes to one. A crashed run's claim
 * lapses at `claimed_until` and the row is due again.
 */
async function claimDue(db: Database, runId: string, now: number, batchSize: number): Promise<OutboxRow[]> {
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(isNull(outbox.sentAt), lte(outbox.nextAttemptAt, now), or(isNull(outbox.claimedUntil), lte(outbox.claimedUntil, now))))
    .orderBy(asc(outbox.nextAttemptAt))
    .limit(batchSize);
  const claimed = await db
    .update(outbox)
    .set({ claimedUntil: now + DELIVERY_LEASE_MS, claimedBy: runId })
    // The conditions again on the row itself, so a row is taken only while it is still free.
    .where(and(inArray(outbox.id, due), isNull(outbox.sentAt), or(isNull(outbox.claimedUntil), lte(outbox.claimedUntil, now))))
    .returning();
  return claimed.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
}

export async function deliverOutbox(
  db: Database,
  env: SecretKeyEnv & Pick<Env, "EMAIL_FROM">,
  transport: EmailTransport,
  now = Date.now(),
  batchSize = 25,
): Promise<DeliveryReport> {
  const runId = generateId();
  const started = Date.now();
  const claimed = await claimDue(db, runId, now, batchSize);
  const report: DeliveryReport = { sent: 0, failed: 0 };
  const ours = (id: string) => and(eq(outbox.id, id), eq(outbox.claimedBy, runId));
  for (const [index, message] of claimed.entries()) {
    if (Date.now() - started > DELIVERY_LEASE_MS - LEASE_MARGIN_MS) {
      // Our claim is about to lapse and another run may take these rows: hand them back unsent.
      const rest = claimed.slice(index).map((m) => m.id);
      await db.update(outbox).set({ claimedUntil: null, claimedBy: null }).where(and(inArray(outbox.id, rest), eq(outbox.claimedBy, runId)));
      break;
    }
    try {
      const rendered = await renderOutboxMessage(env, message);
      await transport.send({ id: message.id, from: env.EMAIL_FROM, to: message.toAddress, ...rendered });
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
      const delay = BACKOFF_MS[Math.min(message.attempts, BACKOFF_MS.length - 1)];
      await db
        .update(outbox)
        .set({
          attempts: message.attempts + 1,
          nextAttemptAt: now + delay,
          claimedUntil: null,
          claimedBy: null,
          lastError: error instanceof Error ? error.message.slice(0, 500) : "unknown error",
        })
        .where(ours(message.id));
      report.failed++;
    }
  }
  return report;
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
