import type { InputHTMLAttributes, ReactNode } from "react";

type FieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  name: string;
  error?: string;
  hint?: ReactNode;
};

/** A labelled input whose error and hint are announced with it (aria-describedby). */
export function Field({ label, name, error, hint, id, ...input }: FieldProps) {
  const inputId = id ?? `field-${name}`;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      <input
        id={inputId}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={[hintId, errorId].filter(Boolean).join(" ") || undefined}
        {...input}
      />
      {error ? (
        <p className="error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <div className="alert alert-error" role="alert">
      {message}
    </div>
  );
}

export function Notice({ message, tone = "ok" }: { message?: string | null; tone?: "ok" | "warn" }) {
  if (!message) return null;
  return (
    <div className={`alert alert-${tone}`} role="status">
      {message}
    </div>
  );
}

/** The shape every action answers with when the input is refused: failure() in server/forms.server.ts. */
type Refusal = { ok: false; formError?: string; fieldErrors?: Record<string, string | undefined> } & Record<string, unknown>;

function refusal(data: unknown): Refusal | null {
  return data && typeof data === "object" && (data as { ok?: unknown }).ok === false ? (data as Refusal) : null;
}

export function formErrorOf(data: unknown): string | null {
  return refusal(data)?.formError ?? null;
}

export function fieldErrorOf(data: unknown, field: string): string | undefined {
  return refusal(data)?.fieldErrors?.[field];
}

/** A submitted value to put back in the form after an error (never used for secrets). */
export function submittedValueOf(data: unknown, field: string): string | undefined {
  const value = refusal(data)?.[field];
  return typeof value === "string" ? value : undefined;
}

/** The confirmation an action answered with, if it succeeded with a message. */
export function messageOf(data: unknown): string | null {
  if (!data || typeof data !== "object") return null;
  const { ok, message } = data as { ok?: unknown; message?: unknown };
  return ok === true && typeof message === "string" ? message : null;
}

/** The 6-digit authenticator code, the same everywhere: numeric keypad, one-time-code autofill. */
export function CodeField({ error, hint, autoFocus, id }: { error?: string; hint?: string; autoFocus?: boolean; id?: string }) {
  return (
    <Field
      id={id}
      label="Code"
      name="code"
      inputMode="numeric"
      autoComplete="one-time-code"
      pattern="[0-9 ]*"
      maxLength={10}
      required
      autoFocus={autoFocus}
      hint={hint ?? "The 6-digit code from your authenticator app."}
      error={error}
    />
  );
}
