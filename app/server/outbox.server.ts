// Email goes to the outbox table in the same D1 batch as the change that causes it, then a
// transport delivers it after the response (ctx.waitUntil) and the cron retries what failed, with
// backoff. Nothing is lost when the provider is down. A message the provider refuses (a 4xx about the
// message) or that failed MAX_ATTEMPTS times is marked failed for good, audit-logged, and shown on the
// contact's page; it is never retried forever (docs/decisions/014).
//
// No usable token at rest (SECURITY.md rule 1, docs/decisions/008): a message that carries a secret link
// is stored with SECRET_URL_PLACEHOLDER where the link goes, and the link itself is sealed with AES-GCM
// under a key derived from a Worker secret, bound to the row id. It is opened and rendered into the
// message only at delivery, then erased. Delivered messages are purged after OUTBOX_RETENTION_MS.
//
// This module: the message types and queueing. Sealing, rendering and delivery are in outbox-*.server.ts.
import { outbox } from "../../db/schema";
import { generateId } from "./crypto.server";
import { type Database } from "./db.server";
import { sealSecret } from "./outbox-sealing.server";
import type { TotpKeys } from "./keyring.server";

/** Stands where the secret link goes in a stored body; replaced only at delivery. */
export const SECRET_URL_PLACEHOLDER = "{{secret_url}}";

/** A message with nothing secret in it (notices, staff notifications). `html` is its HTML alternative. */
export type EmailMessage = { firmId: string | null; to: string; subject: string; text: string; html?: string; secretUrl?: undefined };

/** A message whose `text` (and `html`) hold SECRET_URL_PLACEHOLDER where `secretUrl` (a live token) goes. */
export type EmailWithSecret = { firmId: string | null; to: string; subject: string; text: string; html?: string; secretUrl: string };

/**
 * What a transport sends: rendered, From and Reply-To set for the firm, with the outbox id as the
 * provider's idempotency key.
 */
export type OutgoingEmail = {
  id: string;
  from: string;
  replyTo: string | null;
  to: string;
  subject: string;
  text: string;
  html: string | null;
};

export interface EmailTransport {
  readonly name: string;
  /**
   * True when the outbox row itself is the mailbox (development's /dev/outbox): the sealed link then
   * stays (still sealed) after "delivery" so the developer can open it, until the retention purge.
   */
  readonly outboxIsMailbox?: boolean;
  send(message: OutgoingEmail): Promise<void>;
  /**
   * Sends up to `maxMessages` messages in one request, all or none (docs/decisions/018). The key must
   * be the same on every attempt of the same messages, so a repeat after a lost answer sends nothing.
   */
  readonly batch?: { readonly maxMessages: number; send(messages: OutgoingEmail[], idempotencyKey: string): Promise<void> };
  /** The provider's rate limit as the least time between two requests of one delivery run. */
  readonly minIntervalMs?: number;
}

/** The keys that seal outbox links: the TOTP key and its retired predecessors (docs/decisions/017). */
export type SecretKeyEnv = TotpKeys;

/** Delivered messages are kept this long (support can see what went out), then deleted by the cron. */
export const OUTBOX_RETENTION_MS = 30 * 24 * 60 * 60_000;
/**
 * How long a delivery run holds the rows it claimed. Longer than a run can take (a waitUntil ends 30 s
 * after the response; a run stops sending before its lease ends), short enough that a crashed run's
 * rows go out at the next cron.
 */
export const DELIVERY_LEASE_MS = 5 * 60_000;
export const LEASE_MARGIN_MS = 60_000;

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
    htmlBody: message.html ?? null,
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
  if (message.html !== undefined && !message.html.includes(SECRET_URL_PLACEHOLDER)) throw new Error("The HTML body has no place for its link");
  const { secretUrl, ...plain } = message;
  const row = outboxRow(plain, now);
  return { sealedRow: { ...row, sealedSecret: await sealSecret(env, row.id!, secretUrl) } };
}
