// The one shape of an answer from a server function that can be refused. A route turns a refusal into
// its response with `failure()` (forms.server.ts); the page reads it with formErrorOf/fieldErrorOf.
// A leaf module: it imports nothing, so any server module can use it without an import cycle.

/** The HTTP status a refusal is answered with: the route does not choose it, the rule that refused does. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 410 | 411 | 413 | 415 | 422 | 429;

/**
 * Why something was refused, in words for the person who asked (`error`), per field where a field is
 * at fault (`fieldErrors`), and, where a caller must act on the kind of refusal, a machine `reason`.
 */
export type Refusal<Reason extends string = never> = {
  ok: false;
  status: RefusalStatus;
  error: string;
  fieldErrors?: Record<string, string>;
  reason?: Reason;
};

/** Success carries its own fields (a token, a message, an id); a refusal always reads the same. */
export type Result<Value extends object = object, Reason extends string = never> = ({ ok: true } & Value) | Refusal<Reason>;

export function refuse(status: RefusalStatus, error: string, fieldErrors?: Record<string, string>): Refusal {
  return fieldErrors ? { ok: false, status, error, fieldErrors } : { ok: false, status, error };
}
