import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { fieldErrorOf, FormError } from "~/components/form";
import { ITEM_KIND_LABELS, SCHEDULE_LABELS } from "~/lib/requests";
import { failure, INVALID_FIELDS, readForm, validateForm, type FieldErrors } from "~/server/forms.server";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { contactOptions, findFirmContact } from "~/server/requests/staff-requests.server";
import { createAndSendRequest, isoDay, type NewRequestInput } from "~/server/requests/sending.server";
import { refuse } from "~/server/result";
import { requireStaff, staffPage } from "~/server/staff/staff-auth.server";
import { ITEM_KINDS, REMINDER_SCHEDULES } from "../../db/schema";

export const meta: MetaFunction = () => [{ title: "New request · Client Portal" }];

const DEFAULT_ROWS = 5;
const MAX_ROWS = 20;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const rows = Math.min(MAX_ROWS, Math.max(DEFAULT_ROWS, Number(url.searchParams.get("rows")) || DEFAULT_ROWS));
  const picked = url.searchParams.get("contact") ?? "";
  // The contact picker comes in the session's round trip (issue 14).
  const { data: contacts } = await staffPage(request, context, (firm) => contactOptions(context.db, firm, context.read));
  return { contacts: contacts.options, searchByEmail: contacts.tooMany, rows, picked: /^[A-Za-z0-9_-]{1,64}$/.test(picked) ? picked : "" };
}

const dueDateField = z
  .string()
  .trim()
  .max(10, "Enter the date as YYYY-MM-DD.")
  .refine((v) => v === "" || (/^\d{4}-\d{2}-\d{2}$/.test(v) && isoDay(Date.parse(v) || 0) === v), "Enter the date as YYYY-MM-DD.")
  .optional();

const schema = z.object({
  contactId: z.string().max(64, "Choose a contact.").optional(),
  contactEmail: z.string().trim().max(254, "That email address is too long.").optional(),
  title: z
    .string({ required_error: "Enter a title.", invalid_type_error: "Enter a title." })
    .trim()
    .min(1, "Enter a title.")
    .max(200, "Titles are at most 200 characters."),
  description: z.string({ invalid_type_error: "Enter a description." }).trim().max(5000, "Descriptions are at most 5,000 characters.").optional(),
  dueDate: dueDateField,
  reminderSchedule: z.enum(REMINDER_SCHEDULES, { errorMap: () => ({ message: "Choose a reminder schedule." }) }),
});

/** Checklist rows: `itemKindN` + `itemLabelN`; rows with a blank label are ignored. */
function readItems(form: FormData, errors: FieldErrors): NewRequestInput["items"] {
  const items: NewRequestInput["items"] = [];
  for (let i = 0; i < MAX_ROWS; i++) {
    const label = form.get(`itemLabel${i}`);
    const kind = form.get(`itemKind${i}`);
    if (label === null && kind === null) continue;
    if (typeof label !== "string" || (kind !== null && typeof kind !== "string")) {
      errors[`itemLabel${i}`] = "Enter the item as text.";
      continue;
    }
    const text = label.trim();
    if (text === "") continue;
    if (text.length > 300) errors[`itemLabel${i}`] = "Items are at most 300 characters.";
    else if (!ITEM_KINDS.includes(kind as (typeof ITEM_KINDS)[number])) errors[`itemKind${i}`] = "Choose task, question or file.";
    else items.push({ kind: kind as (typeof ITEM_KINDS)[number], label: text });
  }
  if (items.length === 0 && Object.keys(errors).every((k) => !k.startsWith("item"))) errors.items = "Add at least one checklist item.";
  return items;
}

function echo(form: FormData): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of form.entries()) if (typeof value === "string" && !(key in values)) values[key] = value.slice(0, 5000);
  return values;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { firm, staff } = await requireStaff(request, context);
  const form = await readForm(request);
  const result = validateForm(schema, form);
  const fieldErrors: FieldErrors = result.ok ? {} : { ...result.fieldErrors };
  const items = readItems(form, fieldErrors);
  let contact = null;
  if (result.ok) {
    const { contactId, contactEmail } = result.data;
    contact = await findFirmContact(context.db, firm.id, { id: contactId || undefined, email: contactId ? undefined : contactEmail || undefined });
    if (!contact) fieldErrors[contactId || !contactEmail ? "contactId" : "contactEmail"] = "Choose one of your firm's contacts.";
    if (result.data.dueDate && result.data.dueDate < isoDay(Date.now())) fieldErrors.dueDate = "Choose a due date that is today or later.";
  }
  if (!result.ok || !contact || Object.keys(fieldErrors).length > 0) {
    return failure(refuse(422, INVALID_FIELDS, fieldErrors), { values: echo(form) });
  }
  const requestId = await createAndSendRequest(context.db, context.env, {
    firm,
    staff,
    contact,
    request: {
      title: result.data.title,
      description: result.data.description ?? "",
      dueDate: result.data.dueDate || null,
      reminderSchedule: result.data.reminderSchedule,
      items,
    },
    ...context.meta,
  });
  deliverSoon(context.env, context.ctx, context.db);
  return redirect(`/app/requests/${requestId}?sent=1`);
}

function ErrorText({ id, message }: { id: string; message?: string }) {
  return message ? (
    <p className="error" id={id}>
      {message}
    </p>
  ) : null;
}

export default function NewRequest() {
  const { contacts, searchByEmail, rows, picked } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const values: Record<string, string> = (result && "values" in result ? result.values : null) ?? {};
  const err = (name: string) => fieldErrorOf(result, name);
  const described = (name: string) => (err(name) ? `${name}-error` : undefined);
  return (
    <>
      <p className="small">
        <AppLink to="/app/requests">← Requests</AppLink>
      </p>
      <h1>New request</h1>
      <FormError message={result?.formError} />
      <Form method="post" className="card request-form" noValidate>
        {searchByEmail ? (
          <div className="field">
            <label htmlFor="contactEmail">Contact email</label>
            <p className="hint">Your firm has many contacts: type the contact&apos;s email address.</p>
            <input
              id="contactEmail"
              name="contactEmail"
              type="email"
              defaultValue={values.contactEmail}
              aria-invalid={err("contactEmail") ? true : undefined}
              aria-describedby={described("contactEmail")}
            />
            <ErrorText id="contactEmail-error" message={err("contactEmail")} />
          </div>
        ) : (
          <div className="field">
            <label htmlFor="contactId">Contact</label>
            <select
              id="contactId"
              name="contactId"
              defaultValue={values.contactId ?? picked}
              aria-invalid={err("contactId") ? true : undefined}
              aria-describedby={described("contactId")}
            >
              <option value="">Choose a contact</option>
              {contacts.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.email})
                </option>
              ))}
            </select>
            <ErrorText id="contactId-error" message={err("contactId")} />
          </div>
        )}
        <div className="field">
          <label htmlFor="title">Title</label>
          <input
            id="title"
            name="title"
            type="text"
            maxLength={200}
            required
            defaultValue={values.title}
            aria-invalid={err("title") ? true : undefined}
            aria-describedby={described("title")}
          />
          <ErrorText id="title-error" message={err("title")} />
        </div>
        <div className="field">
          <label htmlFor="description">Description</label>
          <textarea
            id="description"
            name="description"
            rows={4}
            maxLength={5000}
            defaultValue={values.description}
            aria-invalid={err("description") ? true : undefined}
            aria-describedby={described("description")}
          />
          <ErrorText id="description-error" message={err("description")} />
        </div>
        <div className="field">
          <label htmlFor="dueDate">Due date</label>
          <input
            id="dueDate"
            name="dueDate"
            type="date"
            defaultValue={values.dueDate}
            aria-invalid={err("dueDate") ? true : undefined}
            aria-describedby={described("dueDate")}
          />
          <ErrorText id="dueDate-error" message={err("dueDate")} />
        </div>
        <fieldset>
          <legend>Reminders</legend>
          {REMINDER_SCHEDULES.map((s) => (
            <div className="choice" key={s}>
              <input
                type="radio"
                id={`schedule-${s}`}
                name="reminderSchedule"
                value={s}
                defaultChecked={(values.reminderSchedule ?? "gentle") === s}
              />
              <label htmlFor={`schedule-${s}`}>{SCHEDULE_LABELS[s]}</label>
            </div>
          ))}
          <ErrorText id="reminderSchedule-error" message={err("reminderSchedule")} />
        </fieldset>
        <fieldset aria-describedby={err("items") ? "items-error" : "items-hint"}>
          <legend>Checklist</legend>
          <p className="hint" id="items-hint">
            One item per row. Rows left blank are ignored.
          </p>
          <ErrorText id="items-error" message={err("items")} />
          <ol className="item-rows">
            {Array.from({ length: rows }, (_, i) => (
              <li key={i} className="item-row">
                <div>
                  <label htmlFor={`itemKind${i}`}>Item {i + 1} kind</label>
                  <select id={`itemKind${i}`} name={`itemKind${i}`} defaultValue={values[`itemKind${i}`] ?? "task"}>
                    {ITEM_KINDS.map((k) => (
                      <option key={k} value={k}>
                        {ITEM_KIND_LABELS[k]}
                      </option>
                    ))}
                  </select>
                  <ErrorText id={`itemKind${i}-error`} message={err(`itemKind${i}`)} />
                </div>
                <div>
                  <label htmlFor={`itemLabel${i}`}>Item {i + 1}</label>
                  <input
                    id={`itemLabel${i}`}
                    name={`itemLabel${i}`}
                    type="text"
                    maxLength={300}
                    defaultValue={values[`itemLabel${i}`]}
                    aria-invalid={err(`itemLabel${i}`) ? true : undefined}
                    aria-describedby={err(`itemLabel${i}`) ? `itemLabel${i}-error` : undefined}
                  />
                  <ErrorText id={`itemLabel${i}-error`} message={err(`itemLabel${i}`)} />
                </div>
              </li>
            ))}
          </ol>
          {rows < MAX_ROWS ? (
            <p className="small">
              <AppLink to={`?rows=${Math.min(MAX_ROWS, rows + 5)}`}>Show more rows</AppLink> (what you typed here is not kept)
            </p>
          ) : null}
        </fieldset>
        <button type="submit">Send</button>
      </Form>
    </>
  );
}
