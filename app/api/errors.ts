// One JSON shape for every error of the public API: { error: { code, message, fields? } }.
import { z } from "@hono/zod-openapi";
import type { ZodError } from "zod";

export const API_ERROR_CODES = [
  "unauthorized",
  "forbidden",
  "not_found",
  "validation_failed",
  "invalid_json",
  "unsupported_media_type",
  "payload_too_large",
  "conflict",
  "plan_required",
  "idempotency_key_reused",
  "idempotency_in_progress",
  "rate_limited",
  "internal_error",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(API_ERROR_CODES).openapi({ description: "Stable, machine-readable reason." }),
      message: z.string().openapi({ description: "What went wrong, in words a developer can show." }),
      fields: z
        .record(z.string())
        .optional()
        .openapi({ description: "For validation_failed: a message per invalid field (dotted path for nested fields)." }),
    }),
  })
  .openapi("Error");

export type ApiErrorBody = z.infer<typeof ErrorSchema>;

export function apiError(code: ApiErrorCode, message: string, fields?: Record<string, string>): ApiErrorBody {
  return { error: { code, message, ...(fields ? { fields } : {}) } };
}

/** A ready Response, for middleware that answers before any route runs. */
export function errorResponse(status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(apiError(code, message)), { status, headers: { "content-type": "application/json; charset=UTF-8", ...headers } });
}

/** The first message per field; query and path problems are named after their parameter. */
export function fieldMessages(error: ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.join(".") : "body";
    fields[key] ??= issue.message;
  }
  return fields;
}

/** Documented error answers, reused by every route. (Not `as const`: the route types then lose them.) */
const errorContent = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

export const ERROR_RESPONSES = {
  401: errorContent("No key, a malformed key, an unknown key or a revoked key."),
  422: errorContent("The request is not valid: `fields` says why, per field."),
  429: errorContent("Too many calls with this key: wait for the number of seconds in `Retry-After`."),
};

export const WRITE_ERROR_RESPONSES = {
  ...ERROR_RESPONSES,
  400: errorContent("The body is not JSON."),
  403: errorContent("The key has the read scope only; nothing was changed."),
  409: errorContent("Conflicts with the current state, or a call with the same Idempotency-Key is still running."),
  413: errorContent("The body is larger than 64 KiB."),
  415: errorContent("The body is not sent as application/json."),
};

export const NOT_FOUND_RESPONSE = { 404: errorContent("No such object in this key's firm.") };
