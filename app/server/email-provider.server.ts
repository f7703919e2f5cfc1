// The email provider: Resend's HTTP API over fetch (docs/decisions/014). Configured by the Worker
// secret EMAIL_API_KEY and the plain variable EMAIL_API_URL (the API's base URL, https://api.resend.com
// in production; tests point it at a local fake provider).
//
// The transport only says what happened; the outbox decides what to do about it. Its one rule is the
// split between "try again later" and "this message will never go": a 5xx, a 429, a timeout or a
// network error is temporary; a 4xx about the message (invalid address, refused content) is permanent,
// so the outbox stops retrying it at once. Answers that are about our account rather than the message
// (401/403 key or domain problems, 409 a concurrent request with the same idempotency key) are retried:
// a revoked key must not fail every client's mail for good, and the attempt limit still ends them.
import type { EmailTransport, OutgoingEmail } from "./outbox.server";

/** A failed send, with what the outbox needs to decide whether and when to try again. */
export class EmailDeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The provider's Retry-After, when it gave one (429): the next attempt waits at least this long. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "EmailDeliveryError";
  }
}

/** A send that hangs would hold the run's lease; the provider answers in well under a second normally. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Statuses that are 4xx but not about the message itself: retried, within the attempt limit. */
const RETRIED_CLIENT_ERRORS = new Set([401, 403, 408, 409, 429]);

export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && !RETRIED_CLIENT_ERRORS.has(status);
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 24 * 60 * 60) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/**
 * The provider's error name and message (Resend answers `{ statusCode, name, message }`), short: it is
 * kept as the row's last error, which staff may see. Never the request, which holds the live link.
 */
async function describeFailure(response: Response): Promise<string> {
  let detail = "";
  try {
    const body = (await response.json()) as { name?: unknown; message?: unknown };
    detail = [body.name, body.message].filter((part) => typeof part === "string").join(": ");
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  return `Email provider answered ${response.status}${detail ? ` (${detail.slice(0, 200)})` : ""}`;
}

/**
 * Resend's default rate limit is 2 requests a second per team (docs/decisions/018): one delivery run
 * spaces its requests by this much. With a raised limit, lower it.
 */
export const RESEND_MIN_INTERVAL_MS = 500;
/** Resend's batch endpoint takes up to 100 emails per call. */
export const RESEND_BATCH_MAX = 100;

function resendPayload(message: OutgoingEmail) {
  return {
    from: message.from,
    to: [message.to],
    subject: message.subject,
    text: message.text,
    ...(message.html ? { html: message.html } : {}),
    ...(message.replyTo ? { reply_to: [message.replyTo] } : {}),
  };
}

export function resendTransport(config: { baseUrl: string; apiKey: string }): EmailTransport {
  const base = config.baseUrl.replace(/\/+$/, "");
  async function post(path: string, idempotencyKey: string, body: unknown): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${config.apiKey}`, "idempotency-key": idempotencyKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === "TimeoutError" ? "timed out" : "could not be reached";
      throw new EmailDeliveryError(`Email provider ${reason}`, false);
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    throw new EmailDeliveryError(await describeFailure(response), isPermanentStatus(response.status), retryAfterMs(response.headers.get("retry-after")));
  }
  return {
    name: "resend",
    minIntervalMs: RESEND_MIN_INTERVAL_MS,
    // The outbox row id: a run that sent but could not record it (D1 failed, the lease lapsed) sends
    // again, and Resend answers the repeat without sending it (24-hour window).
    send: (message: OutgoingEmail) => post("/emails", message.id, resendPayload(message)),
    batch: {
      maxMessages: RESEND_BATCH_MAX,
      // Strict validation (Resend's default): one invalid email refuses the whole batch and sends none,
      // so a refusal is safe to split into single sends. The key covers the batch's exact messages.
      send: (messages: OutgoingEmail[], idempotencyKey: string) => post("/emails/batch", idempotencyKey, messages.map(resendPayload)),
    },
  };
}
