// Reading and validating form posts. Bad input gets a clear 400/422 and never reaches the domain code.
import { json } from "@remix-run/cloudflare";
import type { z } from "zod";

export const MAX_FORM_BYTES = 64 * 1024;

export type FieldErrors = Record<string, string>;
export type FormFailure = { ok: false; formError: string; fieldErrors: FieldErrors };

/** Reads a urlencoded or multipart form, refusing oversized and malformed bodies with a 400. */
export async function readForm(request: Request, maxBytes = MAX_FORM_BYTES): Promise<FormData> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw json({ ok: false, formError: "The form is too large.", fieldErrors: {} }, { status: 413 });
  let body: ArrayBuffer;
  try {
    body = await request.arrayBuffer();
  } catch {
    throw badForm();
  }
  if (body.byteLength > maxBytes) throw json({ ok: false, formError: "The form is too large.", fieldErrors: {} }, { status: 413 });
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
  return json({ ok: false, formError: "The form could not be read. Reload the page and try again.", fieldErrors: {} }, { status: 400 });
}

/** Validates form fields with a zod schema. File values fail string schemas, as they should. */
export function validateForm<S extends z.ZodTypeAny>(
  schema: S,
  form: FormData,
): { ok: true; data: z.infer<S> } | FormFailure {
  const values: Record<string, FormDataEntryValue> = {};
  for (const [key, value] of form.entries()) {
    if (!(key in values)) values[key] = value;
  }
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data };
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? "form");
    fieldErrors[key] ??= issue.message;
  }
  return { ok: false, formError: "Please correct the highlighted fields.", fieldErrors };
}

/** Reads and validates in one step, throwing a 422 with the messages when invalid. */
export async function parseForm<S extends z.ZodTypeAny>(request: Request, schema: S): Promise<z.infer<S>> {
  const result = validateForm(schema, await readForm(request));
  if (!result.ok) throw json(result, { status: 422 });
  return result.data;
}

export function failure(formError: string, status = 400, fieldErrors: FieldErrors = {}) {
  return json({ ok: false as const, formError, fieldErrors }, { status });
}
