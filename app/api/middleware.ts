// What every call of the public API goes through: the key (401), its rate limit (429), the audit event
// of each use, and for writes the key's scope (403), the body limit and the Idempotency-Key.
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { authenticateApiKey, recordApiKeyUse, type AuthenticatedKey } from "~/server/api/api-keys.server";
import { sha256Hex } from "~/server/crypto.server";
import { createDb, type Database } from "~/server/db.server";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  isValidIdempotencyKey,
  MAX_STORED_BODY,
  releaseIdempotencyKey,
  type IdempotencyScope,
} from "~/server/api/idempotency.server";
import { LIMITS, consume, windowRemainingMs } from "~/server/rate-limit.server";
import { clientIp, userAgent } from "~/server/request-meta.server";
import { trackBackgroundWork } from "../worker/background-work";
import { errorResponse } from "./errors";

export type ApiEnv = {
  Bindings: Env;
  Variables: { nonce: string; db: Database; apiKey: AuthenticatedKey; ctx: ExecutionContext };
};

export const MAX_BODY_BYTES = 64 * 1024;

const UNAUTHORIZED = "Send a live API key as `Authorization: Bearer cpk_…`. Admins create keys at /app/settings/api-keys.";

function unauthorized(): Response {
  return errorResponse(401, "unauthorized", UNAUTHORIZED, { "WWW-Authenticate": 'Bearer realm="api"' });
}

/**
 * Only the Authorization header authenticates: cookies are never read here, so a browser signed in to
 * the firm app cannot be made to call the API (no CSRF), and the API answers no CORS preflight.
 */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const db = createDb(c.env.DB);
  c.set("db", db);
  // In tests, work done after the response is recorded so a test can wait for it (background-work.ts).
  const ctx = c.executionCtx as ExecutionContext;
  c.set("ctx", c.env.ENVIRONMENT === "test" ? trackBackgroundWork(ctx) : ctx);
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([!-~]{1,200})$/i.exec(header.trim());
  const key = match ? await authenticateApiKey(db, match[1]) : null;
  if (!key) return unauthorized();
  c.set("apiKey", key);
  const now = Date.now();
  if (!(await consume(db, LIMITS.apiPerKey, key.key.id, now))) {
    const seconds = Math.max(1, Math.ceil(windowRemainingMs(LIMITS.apiPerKey, now) / 1000));
    return errorResponse(429, "rate_limited", `This key made more than ${LIMITS.apiPerKey.limit} calls this minute. Retry in ${seconds} s.`, {
      "Retry-After": String(seconds),
    });
  }
  await next();
  // One audit event per call (PRODUCT.md "API key use"), with the answer's status; in the same batch
  // as the key's last-used time, so a use is never recorded half.
  await recordApiKeyUse(db, key.key, {
    method: c.req.method,
    route: safeRoutePath(c),
    status: c.res.status,
    ip: clientIp(c.req.raw),
    userAgent: userAgent(c.req.raw),
  });
};

/** The route pattern that answered (`/api/v1/contacts/:contactId`), not the URL: ids stay out of the label. */
function safeRoutePath(c: Context): string {
  const handler = [...matchedRoutes(c)].reverse().find((route) => route.method !== "ALL");
  return (handler?.path ?? "(no route)").slice(0, 200);
}

/** A read-scoped key is refused before its body is even read. */
export const requireWriteScope: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.get("apiKey").key.scope !== "read_write") {
    return errorResponse(403, "forbidden", "This key has the read scope: it cannot change anything. An admin can create a read and write key.");
  }
  await next();
};

/**
 * Endpoints with a body take JSON only. hono's JSON validator skips a body of another type (it would
 * validate `{}`), so a form post to PATCH would "succeed" without changing anything: refuse it instead.
 */
export const requireJsonBody: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const type = (c.req.header("content-type") ?? "").trim();
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return errorResponse(415, "unsupported_media_type", "Send the body as JSON, with `Content-Type: application/json`.");
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return errorResponse(413, "payload_too_large", "The body is larger than 64 KiB.");
  // Cached by hono: the idempotency check and the validator read the same text again.
  const body = await c.req.text();
  if (new TextEncoder().encode(body).byteLength > MAX_BODY_BYTES) return errorResponse(413, "payload_too_large", "The body is larger than 64 KiB.");
  await next();
};

/**
 * Writes with an Idempotency-Key act once: the first call claims the key in D1 before it runs; a retry
 * with the same key and the same request gets the stored answer (marked `Idempotent-Replayed: true`);
 * the same key with another request is refused (422).
 */
export const idempotent: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey === undefined) return next();
  if (!isValidIdempotencyKey(idempotencyKey)) {
    return new Response(
      JSON.stringify({
        error: {
          code: "validation_failed",
          message: "The Idempotency-Key header is not valid.",
          fields: { "Idempotency-Key": "Use 1 to 255 printable ASCII characters." },
        },
      }),
      { status: 422, headers: { "content-type": "application/json; charset=UTF-8" } },
    );
  }
  const { key } = c.get("apiKey");
  const db = c.get("db");
  const scope: IdempotencyScope = { firmId: key.firmId, apiKeyId: key.id, idempotencyKey };
  const url = new URL(c.req.url);
  const requestHash = await sha256Hex(`${c.req.method} ${url.pathname}\n${await c.req.text()}`);
  const claim = await claimIdempotencyKey(db, scope, requestHash);
  if (claim.kind === "replay") {
    return new Response(claim.body, {
      status: claim.status,
      headers: { "content-type": "application/json; charset=UTF-8", "Idempotent-Replayed": "true" },
    });
  }
  if (claim.kind === "mismatch") {
    return errorResponse(422, "idempotency_key_reused", "This Idempotency-Key was used with another request in the last 24 hours. Use a new key for a new request.");
  }
  if (claim.kind === "in_progress") {
    return errorResponse(409, "idempotency_in_progress", "A call with this Idempotency-Key is still running. Retry in a moment.", { "Retry-After": "1" });
  }
  await next();
  const status = c.res.status;
  // A failure inside (5xx) did not act, or not for sure: the client's retry may try again.
  if (status >= 500) {
    await releaseIdempotencyKey(db, scope);
    return;
  }
  const body = await c.res.clone().text();
  if (body.length > MAX_STORED_BODY) {
    await releaseIdempotencyKey(db, scope);
    return;
  }
  await completeIdempotencyKey(db, scope, status, body);
};
