// Rendering an outbox message: the secret link is opened and filled in only when the message leaves
// (or in development, when /dev/outbox shows it).
import type { OutboxRow } from "./types";
import { SECRET_URL_PLACEHOLDER, type SecretKeyEnv } from "./outbox.server";
import { openSecret } from "./outbox-sealing.server";

// ---------------------------------------------------------------------------------------------
// Rendering: done only when the message leaves (or in development, when /dev/outbox shows it)

/** For text put into an HTML body (the secret link included, when delivery fills it in). */
export function escapeHtml(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Puts the link where a stored body has its placeholder. The HTML body goes through the same step with
 * `escapeHtml`, so a body template and its link are never joined before delivery.
 */
export function fillSecretUrl(template: string, secretUrl: string, escape: (value: string) => string = (value) => value): string {
  return template.replaceAll(SECRET_URL_PLACEHOLDER, escape(secretUrl));
}

export type RenderedEmail = { subject: string; text: string; html: string | null };

function fill(row: OutboxRow, secretUrl: string): RenderedEmail {
  return {
    subject: row.subject,
    text: fillSecretUrl(row.textBody, secretUrl),
    html: row.htmlBody === null ? null : fillSecretUrl(row.htmlBody, secretUrl, escapeHtml),
  };
}

/**
 * The message as it is sent. `missing` says what stands in for a link that can no longer be opened
 * (erased after delivery, or sealed under a key that is gone); without it such a message is an error,
 * because sending it would mail a broken link.
 */
export async function renderOutboxMessage(env: SecretKeyEnv, row: OutboxRow, missing?: string): Promise<RenderedEmail> {
  if (!row.sealedSecret) {
    const hasPlaceholder = row.textBody.includes(SECRET_URL_PLACEHOLDER) || (row.htmlBody ?? "").includes(SECRET_URL_PLACEHOLDER);
    if (!hasPlaceholder) return { subject: row.subject, text: row.textBody, html: row.htmlBody };
    if (missing === undefined) throw new Error("The message's link was erased");
    return fill(row, missing);
  }
  const secretUrl = await openSecret(env, row.id, row.sealedSecret);
  if (secretUrl === null) {
    if (missing === undefined) throw new Error("The message's link cannot be opened");
    return fill(row, missing);
  }
  return fill(row, secretUrl);
}

/**
 * "Firm name via Client Portal <portal@sending-domain>": the address (and its domain, the one verified
 * with the provider) comes from EMAIL_FROM, the name from the firm. Quoted, so a comma or an angle
 * bracket in a firm's name cannot add a recipient or change the address.
 */
export function fromAddressFor(firmName: string | null, emailFrom: string): string {
  const match = /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>\s*$/.exec(emailFrom);
  const address = match ? match[2] : emailFrom.trim();
  const product = match?.[1]?.trim() || "Client Portal";
  if (!firmName) return match ? emailFrom.trim() : address;
  const display = `${firmName} via ${product}`.replace(/[\r\n\t]+/g, " ").replace(/["\\]/g, "").slice(0, 150);
  return `"${display}" <${address}>`;
}
