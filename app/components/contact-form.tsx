// The add and edit contact form: one set of fields, labelled, with errors announced beside them.
import { Form } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import type { ReactNode } from "react";
import { Field, fieldErrorOf, FormError, formErrorOf } from "~/components/form";

export type ContactValues = { name: string; email: string; phone: string; company: string; notes: string };

export function ContactForm({
  values,
  result,
  submitLabel,
  cancelTo,
  emailHint,
  emailLocked,
}: {
  values: ContactValues;
  result: unknown;
  submitLabel: string;
  cancelTo: string;
  emailHint?: ReactNode;
  emailLocked?: boolean;
}) {
  const error = (field: string) => fieldErrorOf(result, field);
  const notesError = error("notes");
  return (
    <Form method="post" noValidate className="card">
      <FormError message={formErrorOf(result)} />
      <Field label="Name" name="name" defaultValue={values.name} required maxLength={200} autoComplete="off" error={error("name")} />
      <Field
        label="Email"
        name="email"
        type="email"
        defaultValue={values.email}
        required
        maxLength={254}
        readOnly={emailLocked}
        autoComplete="off"
        hint={emailHint}
        error={error("email")}
      />
      <Field label="Phone" name="phone" type="tel" defaultValue={values.phone} maxLength={40} autoComplete="off" error={error("phone")} />
      <Field
        label="Company or entity"
        name="company"
        defaultValue={values.company}
        maxLength={200}
        autoComplete="off"
        hint="Optional: the business, trust or partnership this client belongs to."
        error={error("company")}
      />
      <div className="field">
        <label htmlFor="field-notes">Notes</label>
        <p className="hint" id="field-notes-hint">
          Only your firm sees these.
        </p>
        <textarea
          id="field-notes"
          name="notes"
          rows={4}
          maxLength={5000}
          defaultValue={values.notes}
          aria-invalid={notesError ? true : undefined}
          aria-describedby={["field-notes-hint", notesError ? "field-notes-error" : ""].filter(Boolean).join(" ")}
        />
        {notesError ? (
          <p className="error" id="field-notes-error">
            {notesError}
          </p>
        ) : null}
      </div>
      <div className="row">
        <button type="submit">{submitLabel}</button>
        <AppLink to={cancelTo}>Cancel</AppLink>
      </div>
    </Form>
  );
}

/** The submitted values, to put back in the form after an error. */
export function echoContact(form: FormData): ContactValues {
  const text = (key: string) => {
    const value = form.get(key);
    return typeof value === "string" ? value.slice(0, 5000) : "";
  };
  return { name: text("name"), email: text("email"), phone: text("phone"), company: text("company"), notes: text("notes") };
}
