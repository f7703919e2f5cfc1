import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import type { ReactNode } from "react";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { changeLoginEmail, deactivateTwoFactor, removeClientPasskeys, revokeAccessLinks, signOutEverywhere } from "~/server/staff/client-access.server";
import { listContactPasskeys, summarisePasskey } from "~/server/auth/passkey-owners.server";
import { getContact } from "~/server/staff/contacts.server";
import { emailField, idParam } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { requireAdmin, requireRecentAuth, staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Edit login details · Client Portal" }];

async function loadContact(request: Request, context: LoaderFunctionArgs["context"], contactId: string | undefined) {
  const id = idParam.safeParse(contactId);
  // Read in the session's round trip (issue 14); a member's read is dropped by requireAdmin.
  const { data: details, ...auth } = await staffPage(
    request,
    context,
    async (firm) =>
      id.success
        ? Promise.all([
            getContact(context.db, firm, id.data, context.read),
            listContactPasskeys(context.db, firm, id.data, context.read),
          ])
        : null,
    requireAdmin,
  );
  if (!details || !details[0] || details[0].contact.deletedAt) throw new Response("Contact not found", { status: 404 });
  const [found, passkeys] = details;
  return { auth, ...found, passkeys: found.account ? passkeys : [] };
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { auth, contact, account, passkeys } = await loadContact(request, context, params.contactId);
  requireRecentAuth(auth, request);
  return {
    passkeys: passkeys.map(summarisePasskey),
    contact: { id: contact.id, name: contact.name },
    account: account ? { email: account.email, totpEnabledAt: account.totpEnabledAt } : null,
  };
}

const confirmed = z.literal("yes", { errorMap: () => ({ message: "Tick the box to confirm." }) });
const schema = z.discriminatedUnion("intent", [
  // currentEmail is the login email the admin saw: a change made against an older page is refused.
  z.object({ intent: z.literal("change-email"), email: emailField, currentEmail: z.string().max(254), confirm: confirmed }),
  z.object({
    intent: z.literal("deactivate-2fa"),
    reason: z.string({ required_error: "Give a reason." }).trim().min(3, "Give a reason.").max(500, "Keep the reason under 500 characters."),
    confirm: confirmed,
  }),
  z.object({
    intent: z.literal("remove-passkeys"),
    reason: z.string({ required_error: "Give a reason." }).trim().min(3, "Give a reason.").max(500, "Keep the reason under 500 characters."),
    confirm: confirmed,
  }),
  z.object({ intent: z.literal("sign-out"), confirm: confirmed }),
  z.object({ intent: z.literal("revoke-links"), confirm: confirmed }),
]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { auth, contact } = await loadContact(request, context, params.contactId);
  requireRecentAuth(auth, request, `/app/contacts/${contact.id}/login-details`);
  const body = await readForm(request);
  // Sent back so the page shows the errors beside the form that was used.
  const intent = String(body.get("intent") ?? "").slice(0, 50);
  const form = validateForm(schema, body, { unknownIntent: "Use one of the forms on this page." });
  if (!form.ok) return failure(form, { intent });
  const { meta } = context;
  const data = form.data;
  const result =
    data.intent === "change-email"
      ? await changeLoginEmail(context.db, auth, contact.id, { email: data.email, currentEmail: data.currentEmail }, meta)
      : data.intent === "deactivate-2fa"
        ? await deactivateTwoFactor(context.db, auth, contact.id, data.reason, meta)
        : data.intent === "remove-passkeys"
          ? await removeClientPasskeys(context.db, auth, contact.id, data.reason, meta)
          : data.intent === "sign-out"
          ? await signOutEverywhere(context.db, auth, contact.id, meta)
          : await revokeAccessLinks(context.db, context.env.LINKS, auth, contact.id, meta);
  if (!result.ok) return failure(result, { intent });
  return json({ ok: true as const, message: result.message, intent });
}

function ConfirmBox({ id, children, error }: { id: string; children: ReactNode; error?: string }) {
  return (
    <div className="choice">
      <input type="checkbox" id={id} name="confirm" value="yes" required aria-describedby={error ? `${id}-error` : undefined} />
      <div>
        <label htmlFor={id}>{children}</label>
        {error ? (
          <p className="error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
      </div>
    </div>
  );
}

export default function EditLoginDetails() {
  const { contact, account, passkeys } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const errorFor = (intent: string, field: string) => (result && result.intent === intent ? fieldErrorOf(result, field) : undefined);
  return (
    <div className="narrow-wide">
      <p className="small">
        <AppLink to={`/app/contacts/${contact.id}`}>← {contact.name}</AppLink>
      </p>
      <h1>Edit login details</h1>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {account ? (
        <>
          <section className="card" aria-labelledby="email-heading">
            <h2 id="email-heading">Login email</h2>
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="change-email" />
              <input type="hidden" name="currentEmail" value={account.email} />
              <Field
                label="Email"
                name="email"
                type="email"
                defaultValue={account.email}
                required
                hint="The client signs in with this address. We tell both the old and the new address."
                error={errorFor("change-email", "email")}
              />
              <ConfirmBox id="confirm-email" error={errorFor("change-email", "confirm")}>
                I have confirmed this change with the client.
              </ConfirmBox>
              <button type="submit">Save</button>
            </Form>
          </section>
          <section className="card" aria-labelledby="tfa-heading">
            <h2 id="tfa-heading">Two-factor authentication</h2>
            {account.totpEnabledAt ? (
              <Form method="post" noValidate>
                <input type="hidden" name="intent" value="deactivate-2fa" />
                <p>
                  On since {formatDateTime(account.totpEnabledAt)}. If the client lost their phone, deactivate it: they sign in with their
                  password and set it up again. Their devices are signed out and they are emailed.
                </p>
                <div className="field">
                  <label htmlFor="reason">Reason</label>
                  <textarea
                    id="reason"
                    name="reason"
                    required
                    maxLength={500}
                    rows={2}
                    aria-invalid={errorFor("deactivate-2fa", "reason") ? true : undefined}
                    aria-describedby={errorFor("deactivate-2fa", "reason") ? "reason-error" : undefined}
                  />
                  {errorFor("deactivate-2fa", "reason") ? (
                    <p className="error" id="reason-error">
                      {errorFor("deactivate-2fa", "reason")}
                    </p>
                  ) : null}
                </div>
                <ConfirmBox id="confirm-2fa" error={errorFor("deactivate-2fa", "confirm")}>
                  I have checked that this request really comes from the client.
                </ConfirmBox>
                <button type="submit" className="danger">
                  Deactivate two-factor authentication
                </button>
              </Form>
            ) : (
              <p>Off.</p>
            )}
          </section>
        </>
      ) : (
        <p>This contact has no portal account yet.</p>
      )}
      {account ? (
        <section className="card" aria-labelledby="passkeys-heading">
          <h2 id="passkeys-heading">Passkeys</h2>
          {passkeys.length ? (
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="remove-passkeys" />
              <ul>
                {passkeys.map((p) => (
                  <li key={p.id}>
                    {p.name}: added {formatDateTime(p.createdAt)}, last used {p.lastUsedAt ? formatDateTime(p.lastUsedAt) : "never"} ({p.synced ? "synced" : "device-bound"})
                  </li>
                ))}
              </ul>
              <p>
                If the client lost the device, remove their passkeys: they sign in with their password (and set up a second step again
                where your firm requires one). Their devices are signed out and they are emailed.
              </p>
              <div className="field">
                <label htmlFor="passkeys-reason">Reason for removing the passkeys</label>
                <textarea
                  id="passkeys-reason"
                  name="reason"
                  required
                  maxLength={500}
                  rows={2}
                  aria-invalid={errorFor("remove-passkeys", "reason") ? true : undefined}
                  aria-describedby={errorFor("remove-passkeys", "reason") ? "passkeys-reason-error" : undefined}
                />
                {errorFor("remove-passkeys", "reason") ? (
                  <p className="error" id="passkeys-reason-error">
                    {errorFor("remove-passkeys", "reason")}
                  </p>
                ) : null}
              </div>
              <ConfirmBox id="confirm-passkeys" error={errorFor("remove-passkeys", "confirm")}>
                I have checked that this request to remove the passkeys really comes from the client.
              </ConfirmBox>
              <button type="submit" className="danger">
                Remove passkeys
              </button>
            </Form>
          ) : (
            <p>None.</p>
          )}
        </section>
      ) : null}
      <section className="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Sessions and links</h2>
        <Form method="post" noValidate className="stack">
          <input type="hidden" name="intent" value="sign-out" />
          <ConfirmBox id="confirm-sign-out" error={errorFor("sign-out", "confirm")}>
            Sign the client out of every browser and device.
          </ConfirmBox>
          <button type="submit" className="secondary">
            Sign out of all devices
          </button>
        </Form>
        <Form method="post" noValidate className="stack">
          <input type="hidden" name="intent" value="revoke-links" />
          <ConfirmBox id="confirm-revoke" error={errorFor("revoke-links", "confirm")}>
            Make every portal link we emailed this client stop working.
          </ConfirmBox>
          <button type="submit" className="secondary">
            Revoke access links
          </button>
        </Form>
      </section>
    </div>
  );
}
