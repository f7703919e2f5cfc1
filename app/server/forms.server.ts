// Reading, validating and answering form posts: the one way a route answers a form. Bad input gets a
// clear 400/422 and never reaches the domain code; a refusal from a server function becomes the same
// response shape, which the page reads with formErrorOf/fieldErrorOf/messageOf (components/form.tsx).
import { json, type TypedResponse } from "@remix-run/cloudflare";
import { z } from "zod";
import { refuse, type Refusal, type RefusalStatus } from "./result";

export const MAX_FORM_BYTES = 64 * 1024;

export type FieldErrors = Record<string, string>;
/** What a page receives when its form was refused. */
export type FormFailure = { ok: false; formError: string; fieldErrors: FieldErrors };

/** The answer to a refused form: the refusal's message and field errors, its status, and the page's extras. */
export function failure<Extra extends object = Record<never, never>>(refusal: Refusal<string>, extra?: Extra): TypedResponse<FormFailure & Extra>;
export function failure<Extra extends object = Record<never, never>>(status: RefusalStatus, formError: string, extra?: Extra): TypedResponse<FormFailure & Extra>;
export function failure(first: Refusal<string> | RefusalStatus, second?: string | object, third?: object) {
  const refusal = typeof first === "number" ? refuse(first, second as string) : first;
  const extra = typeof first === "number" ? third : (second as object | undefined);
  return json({ ok: false as const, formError: refusal.error, fieldErrors: refusal.fieldErrors ?? {}, ...extra }, { status: refusal.status });
}

/** Reads a urlencoded or multipart form, refusing oversized and malformed bodies with a 400. */
export async function readForm(request: Request, maxBytes = MAX_FORM_BYTES): Promise<FormData> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw failure(413, "The form is too large.");
  let body: ArrayBuffer;
  try {
    body = await request.arrayBuffer();
  } catch {
    throw badForm();
  }
  if (body.byteLength > maxBytes) throw failure(413, "The form is too large.");
  try {
    return await new Request(request.url, {
      method: "POST",
      headers: { "content-type": request.headers.get("content-type") ?? "application/x-www-form-urlencoded" },
      body,
    }).formData();
  } catch {
    throw badForm();
  }
}

function badForm() {
  return failure(400, "The form could not be read. Reload the page and try again.");
}

export const INVALID_FIELDS = "Please correct the highlighted fields.";
const UNKNOWN_INTENT = "Use one of the buttons on this page.";

export type Validated<T> = { ok: true; data: T } | Refusal;

/**
 * Validates form fields with a zod schema. File values fail string schemas, as they should.
 * A page with several buttons or forms names them by `intent` and passes
 * `z.discriminatedUnion("intent", [...])`: a missing or unknown intent is a 400 with `unknownIntent`
 * (the page was not used as built, no field is at fault); bad fields of a known intent are a 422.
 */
export function validateForm<S extends z.ZodTypeAny>(schema: S, form: FormData, { unknownIntent = UNKNOWN_INTENT } = {}): Validated<z.infer<S>> {
  const values: Record<string, FormDataEntryValue> = {};
  for (const [key, value] of form.entries()) {
    if (!(key in values)) values[key] = value;
  }
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data };
  if (result.error.issues.some((issue) => issue.code === z.ZodIssueCode.invalid_union_discriminator)) {
    return refuse(400, unknownIntent);
  }
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? "form");
    fieldErrors[key] ??= issue.message;
  }
  return refuse(422, INVALID_FIELDS, fieldErrors);
}

/** Reads and validates in one step. */
export async function parseForm<S extends z.ZodTypeAny>(request: Request, schema: S, options?: { unknownIntent?: string }): Promise<Validated<z.infer<S>>> {
  return validateForm(schema, await readForm(request), options);
}
