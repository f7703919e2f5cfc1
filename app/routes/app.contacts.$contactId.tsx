import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { sendStaffLink } from "~/server/portal/access-links.server";
import { contactWithAccess } from "~/server/staff/client-access.server";
import { failure, parseForm } from "~/server/forms.server";
import { deliverSoon, lastEmailFailure } from "~/server/outbox-delivery.server";
import { formatDate, formatDateTime } from "~/lib/format";
import { deleteContact, getContact, restoreContact } from "~/server/staff/contacts.server";
import { idParam } from "~/server/fields";
import { secondFactorRequired } from "~/server/portal/portal-policy.server";
import { requireStaff, staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.contact.name ?? "Contact"} · Client Portal` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam.safeParse(params.contactId);
  // The contact comes in the session's round trip (issue 14).
  const { firm, staff, data: details } = await staffPage(request, context, async (_firm, _staff, sessionId) =>
    id.success ? contactWithAccess(context.read, { sessionId }, id.data) : null,
  );
  if (!details) throw new Response("Contact not found", { status: 404 });
  const { contact, account, activeSessions, activeLinks, invitedAt, passkeys, passkeyLastUsedAt } = details;
  const url = new URL(request.url);
  return {
    saved: url.searchParams.has("created") ? "The contact was added." : url.searchParams.has("saved") ? "Saved." : null,
    invitedAt,
    emailFailure: lastEmailFailure(details.lastSettledEmail),
    isAdmin: staff.role === "admin",
    summary: { activeSessions, activeLinks },
    contact: {
      id: contact.id,
      name: contact.name,
      email: contact.email,
      phone: contact.phone,
      company: contact.company,
      notes: contact.notes,
      deletedAt: contact.deletedAt,
    },
    account: account
      ? {
          email: account.email,
          totpEnabledAt: account.totpEnabledAt,
          lastSignInAt: account.lastSignInAt,
          passkeys,
          passkeyLastUsedAt,
          deactivated: account.deactivatedAt !== null,
        }
      : null,
    twoFactorRequired: secondFactorRequired(firm),
  };
}

const actionSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("send-link") }),
  z.object({ intent: z.literal("send-invite") }),
  z.object({ intent: z.literal("delete") }),
  z.object({ intent: z.literal("restore") }),
]);

export async function action({ request, context, params }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  const { firm, staff } = auth;
  const id = idParam.safeParse(params.contactId);
  const details = id.success ? await getContact(context.db, firm.id, id.data) : null;
  if (!details) throw new Response("Contact not found", { status: 404 });
  const form = await parseForm(request, actionSchema);
  if (!form.ok) return failure(form);
  const deleted = details.contact.deletedAt !== null;
  if (form.data.intent === "delete" || form.data.intent === "restore") {
    if (staff.role !== "admin") throw new Response("Only firm admins can do this.", { status: 403 });
    if (form.data.intent === "delete" && !deleted) {
      await deleteContact(context.db, context.env.LINKS, auth, details.contact.id, context.meta);
      return json({ ok: true as const, message: "The contact was deleted. Their portal login is deactivated until you restore them." });
    }
    if (form.data.intent === "restore" && deleted) {
      const restored = await restoreContact(context.db, auth, details.contact.id, context.meta);
      if (!restored.ok) return failure(restored);
      return json({ ok: true as const, message: "The contact was restored, with their portal login." });
    }
    return json({ ok: true as const, message: "Nothing changed." });
  }
  if (deleted) return failure(409, "Restore this contact before sending them links.");
  const sent = await sendStaffLink(context.db, context.env, {
    firm,
    contact: details.contact,
    staff,
    purpose: form.data.intent === "send-invite" ? "invite" : "staff",
    ...context.meta,
  });
  if (!sent.ok) return failure(sent);
  deliverSoon(context.env, context.ctx, context.db);
  return json({ ok: true as const, message: `We emailed a portal link to ${details.contact.email}. It is valid for 14 days.` });
}

export default function ContactDetails() {
  const { contact, account, twoFactorRequired, isAdmin, summary, invitedAt, saved, emailFailure } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <p className="small">
        <AppLink to="/app/contacts">← Contacts</AppLink>
      </p>
      <h1>{contact.name}</h1>
      <Notice message={messageOf(result) ?? (result ? null : saved)} />
      <FormError message={formErrorOf(result)} />
      {contact.deletedAt ? (
        <div className="alert alert-warn" role="status">
          This contact was deleted on {formatDateTime(contact.deletedAt)}. Their portal login is deactivated.
          {isAdmin ? (
            <Form method="post">
              <button type="submit" name="intent" value="restore" className="secondary">
                Restore contact
              </button>
            </Form>
          ) : null}
        </div>
      ) : null}
      <section className="card" aria-labelledby="details-heading">
        <h2 id="details-heading">Details</h2>
        <dl className="details">
          <dt>Email</dt>
          <dd>{contact.email}</dd>
          <dt>Phone</dt>
          <dd>{contact.phone ?? "—"}</dd>
          <dt>Company or entity</dt>
          <dd>{contact.company ?? "—"}</dd>
          <dt>Notes</dt>
          <dd className="notes">{contact.notes ?? "—"}</dd>
        </dl>
        {contact.deletedAt ? null : (
          <p>
            <AppLink className="button secondary" to={`/app/contacts/${contact.id}/edit`}>
              Edit contact
            </AppLink>
          </p>
        )}
      </section>
      <section className="card" aria-labelledby="portal-heading">
        <h2 id="portal-heading">Client portal</h2>
        <dl className="details">
          <dt>Login email</dt>
          <dd>{account ? account.email : ""}</dd>
          <dt>Two-factor authentication</dt>
          <dd>
            {account?.totpEnabledAt
              ? `On since ${formatDateTime(account.totpEnabledAt)}`
              : account?.passkeys
                ? "With a passkey"
                : twoFactorRequired
                  ? "Required, not set up yet"
                  : "Off"}
          </dd>
          <dt>Passkeys</dt>
          <dd>
            {account?.passkeys
              ? `${account.passkeys}, last used ${account.passkeyLastUsedAt ? formatDateTime(account.passkeyLastUsedAt) : "never"}`
              : account
                ? "None"
                : ""}
          </dd>
          <dt>Last sign-in</dt>
          <dd>{formatDateTime(account?.lastSignInAt)}</dd>
          <dt>Active sessions</dt>
          <dd>{summary.activeSessions}</dd>
          <dt>Unused access links</dt>
          <dd>{summary.activeLinks}</dd>
        </dl>
        {emailFailure ? (
          <p className="alert alert-warn" role="status">
            The last email to this contact failed on {formatDateTime(emailFailure.failedAt)}: “{emailFailure.subject}”. Check
            the address, then send a new link.
          </p>
        ) : null}
        {account ? null : (
          <p className="muted">
            This contact has not created a portal account yet.
            {invitedAt ? " " : null}
            {invitedAt ? <span className="badge badge-warn">{`Invited ${formatDate(invitedAt)}`}</span> : null}
          </p>
        )}
        {contact.deletedAt ? null : (
        <Form method="post" className="row">
          {account ? (
            <button type="submit" name="intent" value="send-link">
              Send portal link
            </button>
          ) : (
            <>
              <button type="submit" name="intent" value="send-invite">
                Send portal invite
              </button>
              <button type="submit" name="intent" value="send-link" className="secondary">
                Send portal link
              </button>
            </>
          )}
          {isAdmin ? (
            <AppLink className="button secondary" to={`/app/contacts/${contact.id}/login-details`}>
              Edit login details
            </AppLink>
          ) : null}
        </Form>
        )}
      </section>
      {isAdmin && !contact.deletedAt ? (
        <section className="card" aria-labelledby="delete-heading">
          <h2 id="delete-heading">Delete contact</h2>
          <p className="hint">Their portal login is deactivated, their sessions end and their links stop working. You can restore them later.</p>
          <Form method="post">
            <button type="submit" name="intent" value="delete" className="danger">
              Delete contact
            </button>
          </Form>
        </section>
      ) : null}
    </>
  );
}
