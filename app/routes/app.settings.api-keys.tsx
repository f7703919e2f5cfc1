// Settings › API keys (SECURITY.md rule 36): admins create, name and revoke the firm's keys of the public
// API. A new key is in the action's answer only, shown once; the page never has it again.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { Field, fieldErrorOf, formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { formatDateTime } from "~/lib/format";
import { apiKeyFormSchema, createApiKey, listApiKeys, revokeApiKey } from "~/server/api/api-keys.server";
import { idParam } from "~/server/fields";
import { readForm, validateForm } from "~/server/forms.server";
import { requireAdmin, requireRecentAuth, staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "API keys · Client Portal" }];

const PATH = "/app/settings/api-keys";

export async function loader({ request, context }: LoaderFunctionArgs) {
  // The keys come in the session's round trip (issue 14); a member's are dropped by requireAdmin.
  const { data: keys } = await staffPage(request, context, (firm) => listApiKeys(context.db, firm, context.read), requireAdmin);
  return { keys };
}

const revokeSchema = z.object({ intent: z.literal("revoke"), keyId: idParam });

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireAdmin(request, context);
  requireRecentAuth(auth, request, PATH);
  const body = await readForm(request);
  const meta = context.meta;
  if (body.get("intent") === "revoke") {
    const form = validateForm(revokeSchema, body);
    const revoked = form.ok && (await revokeApiKey(context.db, auth, form.data.keyId, meta));
    if (!revoked) return json({ ok: false as const, formError: "That key is not an active key of your firm.", fieldErrors: {}, newKey: null }, { status: 404 });
    return json({ ok: true as const, message: "The key was revoked. Calls with it are refused from now on.", newKey: null });
  }
  const form = validateForm(apiKeyFormSchema, body);
  if (!form.ok) return json({ ...form, newKey: null }, { status: 422 });
  const created = await createApiKey(context.db, auth, form.data, meta);
  if (!created.ok) return json({ ok: false as const, formError: created.error, fieldErrors: {}, newKey: null }, { status: 409 });
  return json({ ok: true as const, message: null, newKey: { name: form.data.name, key: created.key } });
}

export default function ApiKeys() {
  const { keys } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const newKey = result && "newKey" in result ? result.newKey : null;
  return (
    <>
      <p className="small">
        Settings › <AppLink to="/app/settings/client-portal/security">Client Portal › Security and Two-Factor</AppLink> ·{" "}
        <AppLink to="/app/settings/audit-log">Audit log</AppLink> · <strong>API keys</strong>
      </p>
      <h1>API keys</h1>
      <p>
        Keys let your firm&apos;s own systems use the <a href="/api/v1/docs">Client Portal API</a>: read and change the portal security setting, manage
        contacts and their portal access, and read the audit log. Every call is recorded in the audit log.
      </p>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {newKey ? (
        <div className="alert alert-warn" role="status" aria-labelledby="new-key-heading">
          <h2 id="new-key-heading">Copy the key “{newKey.name}” now</h2>
          <p>It is shown only this once. We keep only a hash of it, so nobody can show it to you again; if it is lost, revoke it and create another.</p>
          <label htmlFor="new-key">New API key</label>
          <input id="new-key" className="mono" type="text" readOnly value={newKey.key} size={90} autoComplete="off" spellCheck={false} />
        </div>
      ) : null}
      <section className="card" aria-labelledby="create-heading">
        <h2 id="create-heading">Create a key</h2>
        <Form method="post">
          <input type="hidden" name="intent" value="create" />
          <Field label="Name" name="name" required maxLength={80} hint="Where it is used, e.g. “Practice management sync”." error={fieldErrorOf(result, "name")} />
          <fieldset>
            <legend>Scope</legend>
            <div className="choice">
              <input type="radio" id="scope-read" name="scope" value="read" defaultChecked aria-describedby="scope-read-help" />
              <div>
                <label htmlFor="scope-read">Read</label>
                <p className="hint" id="scope-read-help">
                  Reads contacts, portal access, the security setting and the audit log. Cannot change anything.
                </p>
              </div>
            </div>
            <div className="choice">
              <input type="radio" id="scope-read_write" name="scope" value="read_write" aria-describedby="scope-read_write-help" />
              <div>
                <label htmlFor="scope-read_write">Read and write</label>
                <p className="hint" id="scope-read_write-help">
                  Also adds and edits contacts, sends portal links and invites, deactivates a client&apos;s 2FA, signs clients out and changes the security
                  setting.
                </p>
              </div>
            </div>
            {fieldErrorOf(result, "scope") ? <p className="error">{fieldErrorOf(result, "scope")}</p> : null}
          </fieldset>
          <button type="submit">Create key</button>
        </Form>
      </section>
      <div className="table-wrap">
        <table>
          <caption>{keys.length === 0 ? "No API keys yet." : "Your firm's API keys"}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scope</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td className="mono">{key.hint}</td>
                <td>{key.scope === "read_write" ? "Read and write" : "Read"}</td>
                <td>{formatDateTime(key.createdAt)}</td>
                <td>{key.lastUsedAt ? formatDateTime(key.lastUsedAt) : "Never"}</td>
                <td>
                  {key.revokedAt ? (
                    `Revoked ${formatDateTime(key.revokedAt)}`
                  ) : (
                    <Form method="post">
                      <input type="hidden" name="intent" value="revoke" />
                      <input type="hidden" name="keyId" value={key.id} />
                      <button type="submit" className="secondary" aria-label={`Revoke ${key.name}`}>
                        Revoke
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
