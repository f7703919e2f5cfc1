// The public API, version 1 (PRODUCT.md "Public API"). Routes are declared with their zod schemas
// (createRoute): the same schemas validate each request and make the OpenAPI 3.1 document, so the
// reference cannot drift from what the server accepts. Handlers stay thin: they call the same server
// functions as the firm app's pages, with the key as the actor (acting.server.ts).
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import { encodeBase64urlNoPadding, decodeBase64urlIgnorePadding } from "@oslojs/encoding";
import type { ApiKeyActing } from "~/server/acting.server";
import { sendStaffLink } from "~/server/portal/access-links.server";
import { listAuditEvents } from "~/server/audit.server";
import { contactWithAccess, deactivateTwoFactor, removeClientPasskeys, signOutEverywhere } from "~/server/staff/client-access.server";
import { contactFormSchema, createContact, updateContact } from "~/server/staff/contact-editing.server";
import { getContact, listContacts } from "~/server/staff/contacts.server";
import { idParam } from "~/server/fields";
import { createReader } from "~/server/read-batch.server";
import { deliverSoon } from "~/server/outbox-delivery.server";
import { LIMITS } from "~/server/rate-limit.server";
import { changeSecurityMode } from "~/server/portal/security-mode.server";
import { selectableModes } from "~/server/portal/portal-policy.server";
import { clientIp, userAgent } from "~/server/request-meta.server";
import { DEFAULT_DIRECTION, type ContactSort, type SortDirection } from "~/lib/contact-filters";
import { renderReferencePage } from "./docs-page";
import { apiError, ERROR_RESPONSES, fieldMessages, NOT_FOUND_RESPONSE, WRITE_ERROR_RESPONSES } from "./errors";
import { authenticate, idempotent, requireJsonBody, requireWriteScope, type ApiEnv } from "./middleware";
import {
  AuditListQuery,
  AuditPageSchema,
  ContactCreateSchema,
  ContactIdParams,
  ContactListQuery,
  ContactPageSchema,
  ContactSchema,
  ContactUpdateSchema,
  DoneSchema,
  IdempotencyHeaders,
  PasskeyRemovalSchema,
  PortalLinkRequestSchema,
  PortalLinkSentSchema,
  SecurityModeChangedSchema,
  SecurityModeChangeSchema,
  SecuritySettingSchema,
  TwoFactorDeactivationSchema,
} from "./schemas";

export const v1 = new OpenAPIHono<ApiEnv>({
  // Every validation failure, in one shape with a message per field.
  defaultHook: (result, c) => {
    if (!result.success) {
      return c.json(apiError("validation_failed", "Some fields are not valid.", fieldMessages(result.error)), 422);
    }
  },
});

/** Documents the key requirement once; every operation below references it. */
v1.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
  type: "http",
  scheme: "bearer",
  description: "A firm API key, `cpk_<id>_<secret>`, created by an admin at /app/settings/api-keys (shown once).",
});
const security = [{ apiKey: [] }];

// The reference is public (it holds no firm data); everything else needs a key.
v1.use("*", async (c, next) => {
  const path = new URL(c.req.url).pathname;
  if (path === "/api/v1/openapi.json" || path === "/api/v1/docs") return next();
  return authenticate(c, next);
});

v1.onError((error, c) => {
  if (error instanceof HTTPException && error.status < 500) {
    // hono's JSON validator: a body that is not JSON, or not sent as JSON.
    const message = error.message || "The request could not be read.";
    if (/content-type/i.test(message)) return c.json(apiError("unsupported_media_type", "Send the body as application/json."), 415);
    return c.json(apiError("invalid_json", "The body is not valid JSON."), 400);
  }
  console.error("api error", error);
  return c.json(apiError("internal_error", "Something went wrong on our side. Retry later; with an Idempotency-Key a retry acts once."), 500);
});

v1.notFound((c) => c.json(apiError("not_found", "No such endpoint. The reference is at /api/v1/docs."), 404));

function acting(c: Context<ApiEnv>): ApiKeyActing {
  const { key, firm } = c.get("apiKey");
  return { firm, apiKey: { id: key.id, name: key.name } };
}

function meta(c: Context<ApiEnv>) {
  return { ip: clientIp(c.req.raw), userAgent: userAgent(c.req.raw) };
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

const notFound = () => apiError("not_found", "Contact not found.");

// ---------------------------------------------------------------------------------------------------
// Security mode

const getSecurityMode = createRoute({
  method: "get",
  path: "/security-mode",
  tags: ["Portal security"],
  summary: "Get the portal security mode",
  security,
  responses: {
    200: { description: "The firm's mode and the modes it may switch to.", content: { "application/json": { schema: SecuritySettingSchema } } },
    ...ERROR_RESPONSES,
  },
});

v1.openapi(getSecurityMode, (c) => {
  const { firm } = c.get("apiKey");
  return c.json({ mode: firm.securityMode, plan: firm.plan, selectableModes: selectableModes(firm) }, 200);
});

const putSecurityMode = createRoute({
  method: "put",
  path: "/security-mode",
  tags: ["Portal security"],
  summary: "Change the portal security mode",
  description:
    "Same rules as Settings › Client Portal › Security: the 2FA mode needs a Business or Enterprise plan (403 `plan_required`). " +
    "Switching to magic_link_only ends every client password session; switching to magic_link_and_login_2fa ends every client session that has not passed 2FA. Audit-logged.",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: SecurityModeChangeSchema } } },
  },
  responses: {
    200: { description: "The mode now in force.", content: { "application/json": { schema: SecurityModeChangedSchema } } },
    ...WRITE_ERROR_RESPONSES,
  },
});

v1.openapi(putSecurityMode, async (c) => {
  const { mode } = c.req.valid("json");
  const result = await changeSecurityMode(c.get("db"), acting(c), mode, meta(c));
  if (!result.ok) {
    return c.json(apiError(result.status === 403 ? "plan_required" : "validation_failed", result.error), 403);
  }
  return c.json({ mode, changed: result.changed, endedSessions: result.endedSessions }, 200);
});

// ---------------------------------------------------------------------------------------------------
// Contacts

type ContactCursor = { sort: ContactSort; dir: SortDirection; after: string };

/** The list's cursor is opaque to clients: base64url of the sort it belongs to and the last row's key. */
function encodeCursor(cursor: ContactCursor): string {
  return encodeBase64urlNoPadding(new TextEncoder().encode(JSON.stringify([cursor.sort, cursor.dir, cursor.after])));
}

function decodeCursor(value: string): ContactCursor | null {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(decodeBase64urlIgnorePadding(value)));
    if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((part) => typeof part === "string")) return null;
    return { sort: parsed[0] as ContactSort, dir: parsed[1] as SortDirection, after: parsed[2] };
  } catch {
    return null;
  }
}

const listContactsRoute = createRoute({
  method: "get",
  path: "/contacts",
  tags: ["Contacts"],
  summary: "List contacts with their portal access",
  description: "Keyset-paginated (`nextCursor` → `cursor`), with the filters and sort orders of the contacts page.",
  security,
  request: { query: ContactListQuery },
  responses: {
    200: { description: "A page of contacts.", content: { "application/json": { schema: ContactPageSchema } } },
    ...ERROR_RESPONSES,
  },
});

v1.openapi(listContactsRoute, async (c) => {
  const query = c.req.valid("query");
  const sort = query.sort ?? "name";
  const dir = query.dir ?? DEFAULT_DIRECTION[sort];
  let after: string | null = null;
  if (query.cursor) {
    const cursor = decodeCursor(query.cursor);
    if (!cursor || cursor.sort !== sort || cursor.dir !== dir) {
      return c.json(apiError("validation_failed", "Some fields are not valid.", { cursor: "Use the nextCursor of a previous page, with the same sort and dir." }), 422);
    }
    after = cursor.after;
  }
  const page = await listContacts(c.get("db"), c.get("apiKey").firm.id, {
    search: query.search,
    filter: query.filter,
    sort,
    dir,
    after,
    limit: query.limit ?? 50,
    deleted: query.deleted === "true",
  });
  return c.json(
    {
      data: page.rows.map((row) => ({
        id: row.id,
        name: row.name,
        email: row.email,
        company: row.company,
        portal: {
          status: row.portalStatus,
          loginEmail: row.accountEmail,
          twoFactorEnabled: row.totpEnabledAt !== null,
          twoFactorEnabledAt: iso(row.totpEnabledAt),
          lastSignInAt: iso(row.lastSignInAt),
          invitedAt: iso(row.invitedAt),
        },
      })),
      nextCursor: page.next ? encodeCursor({ sort, dir, after: page.next }) : null,
    },
    200,
  );
});

/** One contact as the API shows it, or null when the id is not one of this firm's contacts. */
async function contactBody(c: Context<ApiEnv>, contactId: string) {
  const id = idParam.safeParse(contactId);
  const row = id.success ? await contactWithAccess(createReader(c.get("db")), { firmId: c.get("apiKey").firm.id }, id.data) : null;
  if (!row) return null;
  const { contact, account } = row;
  const live = account && account.deactivatedAt === null ? account : null;
  return {
    id: contact.id,
    name: contact.name,
    email: contact.email,
    phone: contact.phone,
    company: contact.company,
    notes: contact.notes,
    createdAt: iso(contact.createdAt),
    deletedAt: iso(contact.deletedAt),
    portal: {
      status: live ? ("account" as const) : row.invitedAt !== null ? ("invited" as const) : ("none" as const),
      loginEmail: live?.email ?? null,
      twoFactorEnabled: live?.totpEnabledAt != null,
      twoFactorEnabledAt: iso(live?.totpEnabledAt),
      lastSignInAt: iso(live?.lastSignInAt),
      invitedAt: iso(row.invitedAt),
      loginDeactivated: account !== null && account.deactivatedAt !== null,
      activeSessions: Number(row.activeSessions),
      activeLinks: Number(row.activeLinks),
      passkeys: live ? Number(row.passkeys) : 0,
    },
  };
}

const getContactRoute = createRoute({
  method: "get",
  path: "/contacts/{contactId}",
  tags: ["Contacts"],
  summary: "Get a contact and their portal access",
  security,
  request: { params: ContactIdParams },
  responses: {
    200: { description: "The contact.", content: { "application/json": { schema: ContactSchema } } },
    ...ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

v1.openapi(getContactRoute, async (c) => {
  const body = await contactBody(c, c.req.valid("param").contactId);
  if (!body) return c.json(notFound(), 404);
  return c.json(body, 200);
});

const createContactRoute = createRoute({
  method: "post",
  path: "/contacts",
  tags: ["Contacts"],
  summary: "Add a contact",
  description: "The same rules as the Add contact form: the email is unique among the firm's live contacts (409 otherwise).",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: ContactCreateSchema } } },
  },
  responses: {
    201: { description: "The new contact.", content: { "application/json": { schema: ContactSchema } } },
    ...WRITE_ERROR_RESPONSES,
  },
});

v1.openapi(createContactRoute, async (c) => {
  const saved = await createContact(c.get("db"), acting(c), c.req.valid("json"), meta(c));
  if (!saved.ok) return c.json(apiError("conflict", saved.error, saved.fieldErrors), 409);
  const body = await contactBody(c, saved.contactId);
  return c.json(body!, 201);
});

const updateContactRoute = createRoute({
  method: "patch",
  path: "/contacts/{contactId}",
  tags: ["Contacts"],
  summary: "Change a contact",
  description:
    "Absent fields keep their value. A new email for a contact without a login voids everything mailed to the old address; " +
    "the email of a contact with a portal login is their login email and is refused here (409).",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    params: ContactIdParams,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: ContactUpdateSchema } } },
  },
  responses: {
    200: { description: "The contact as saved.", content: { "application/json": { schema: ContactSchema } } },
    ...WRITE_ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

v1.openapi(updateContactRoute, async (c) => {
  const { contactId } = c.req.valid("param");
  const changes = c.req.valid("json");
  const id = idParam.safeParse(contactId);
  const current = id.success ? await getContact(c.get("db"), c.get("apiKey").firm.id, id.data) : null;
  if (!current || current.contact.deletedAt !== null) return c.json(notFound(), 404);
  const { contact } = current;
  const merged = {
    name: changes.name ?? contact.name,
    email: changes.email ?? contact.email,
    phone: changes.phone === undefined ? (contact.phone ?? undefined) : (changes.phone ?? undefined),
    company: changes.company === undefined ? (contact.company ?? undefined) : (changes.company ?? undefined),
    notes: changes.notes === undefined ? (contact.notes ?? undefined) : (changes.notes ?? undefined),
  };
  const input = contactFormSchema.safeParse(merged);
  if (!input.success) return c.json(apiError("validation_failed", "Some fields are not valid.", fieldMessages(input.error)), 422);
  const saved = await updateContact(c.get("db"), c.env.LINKS, acting(c), contact.id, input.data, meta(c));
  if (!saved.ok) {
    if (saved.status === 404) return c.json(notFound(), 404);
    return c.json(apiError(saved.status === 422 ? "validation_failed" : "conflict", saved.error, saved.fieldErrors), saved.status === 422 ? 422 : 409);
  }
  const body = await contactBody(c, contact.id);
  return c.json(body!, 200);
});

// ---------------------------------------------------------------------------------------------------
// Portal access of one contact

const sendLinkRoute = createRoute({
  method: "post",
  path: "/contacts/{contactId}/portal-link",
  tags: ["Portal access"],
  summary: "Email a portal link or a portal invite",
  description:
    "Emails the contact a 14-day access link (Send portal link), or an invite whose page offers to create a login (Send portal invite). " +
    "A contact is emailed at most 3 times in 10 minutes, whatever sends it (429 with Retry-After).",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    params: ContactIdParams,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: PortalLinkRequestSchema } } },
  },
  responses: {
    202: { description: "The email is queued.", content: { "application/json": { schema: PortalLinkSentSchema } } },
    ...WRITE_ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

v1.openapi(sendLinkRoute, async (c) => {
  const { contactId } = c.req.valid("param");
  const { kind } = c.req.valid("json");
  const id = idParam.safeParse(contactId);
  const details = id.success ? await getContact(c.get("db"), c.get("apiKey").firm.id, id.data) : null;
  if (!details) return c.json(notFound(), 404);
  if (details.contact.deletedAt !== null) return c.json(apiError("conflict", "This contact is deleted. Restore them in the firm app before sending links."), 409);
  const { key, firm } = c.get("apiKey");
  // At most 3 emails per 10 minutes per address, whoever sends them (sendStaffLink).
  const sent = await sendStaffLink(c.get("db"), c.env, {
    firm,
    contact: details.contact,
    apiKey: { id: key.id, name: key.name },
    purpose: kind === "invite" ? "invite" : "staff",
    ...meta(c),
  });
  if (!sent.ok) {
    return c.json(
      apiError("rate_limited", `This contact was emailed ${LIMITS.emailPerAddress.limit} times in the last 10 minutes. Retry in ${sent.retryAfterSeconds} s.`),
      429,
      { "Retry-After": String(sent.retryAfterSeconds) },
    );
  }
  deliverSoon(c.env, c.get("ctx"), c.get("db"));
  return c.json({ sentTo: details.contact.email, kind, expiresAt: iso(sent.expiresAt) }, 202);
});

const deactivateTwoFactorRoute = createRoute({
  method: "post",
  path: "/contacts/{contactId}/two-factor/deactivate",
  tags: ["Portal access"],
  summary: "Deactivate the contact's two-factor authentication",
  description:
    "As Edit login details › Deactivate two-factor authentication: the secret and recovery codes are deleted, every session ends, " +
    "the client is emailed and sets 2FA up again at their next sign-in where it is required. 409 when 2FA is not on.",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    params: ContactIdParams,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: TwoFactorDeactivationSchema } } },
  },
  responses: {
    200: { description: "Done.", content: { "application/json": { schema: DoneSchema } } },
    ...WRITE_ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

/** The resets of Edit login details (the app, the passkeys): the contact by id, a reason, the client emailed. */
async function resetLogin(c: Context<ApiEnv>, contactId: string, reason: string, reset: typeof deactivateTwoFactor) {
  const id = idParam.safeParse(contactId);
  if (!id.success) return c.json(notFound(), 404);
  const result = await reset(c.get("db"), acting(c), id.data, reason, meta(c));
  if (!result.ok) return result.status === 404 ? c.json(notFound(), 404) : c.json(apiError("conflict", result.error), 409);
  deliverSoon(c.env, c.get("ctx"), c.get("db"));
  return c.json({ message: result.message }, 200);
}

v1.openapi(deactivateTwoFactorRoute, (c) => resetLogin(c, c.req.valid("param").contactId, c.req.valid("json").reason, deactivateTwoFactor));

const removePasskeysRoute = createRoute({
  method: "post",
  path: "/contacts/{contactId}/passkeys/remove",
  tags: ["Portal access"],
  summary: "Remove the contact's passkeys",
  description:
    "As Edit login details › Remove passkeys, for a client who lost the device: every passkey of the login is deleted, every session " +
    "ends, the client is emailed and signs in with their password. 409 when the client has no passkeys or no portal login.",
  security,
  middleware: [requireWriteScope, requireJsonBody, idempotent],
  request: {
    params: ContactIdParams,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: PasskeyRemovalSchema } } },
  },
  responses: {
    200: { description: "Done.", content: { "application/json": { schema: DoneSchema } } },
    ...WRITE_ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

v1.openapi(removePasskeysRoute, (c) => resetLogin(c, c.req.valid("param").contactId, c.req.valid("json").reason, removeClientPasskeys));

const signOutRoute = createRoute({
  method: "post",
  path: "/contacts/{contactId}/sign-out-everywhere",
  tags: ["Portal access"],
  summary: "Sign the contact out of every device",
  description: "Ends every session of the contact; links and tokens emailed before stop working. No body.",
  security,
  middleware: [requireWriteScope, idempotent],
  request: { params: ContactIdParams, headers: IdempotencyHeaders },
  responses: {
    200: { description: "Done.", content: { "application/json": { schema: DoneSchema } } },
    ...WRITE_ERROR_RESPONSES,
    ...NOT_FOUND_RESPONSE,
  },
});

v1.openapi(signOutRoute, async (c) => {
  const id = idParam.safeParse(c.req.valid("param").contactId);
  if (!id.success) return c.json(notFound(), 404);
  const result = await signOutEverywhere(c.get("db"), acting(c), id.data, meta(c));
  if (!result.ok) return result.status === 404 ? c.json(notFound(), 404) : c.json(apiError("conflict", result.error), 409);
  return c.json({ message: result.message }, 200);
});

// ---------------------------------------------------------------------------------------------------
// Audit log

const auditRoute = createRoute({
  method: "get",
  path: "/audit-events",
  tags: ["Audit log"],
  summary: "Read the audit log",
  description: "Newest first, keyset-paginated. Every call of the API is itself recorded (`api_key.used`).",
  security,
  request: { query: AuditListQuery },
  responses: {
    200: { description: "A page of events.", content: { "application/json": { schema: AuditPageSchema } } },
    ...ERROR_RESPONSES,
  },
});

function parseDetail(detail: string | null): Record<string, unknown> | null {
  if (!detail) return null;
  try {
    const value: unknown = JSON.parse(detail);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { value: detail };
  }
}

v1.openapi(auditRoute, async (c) => {
  const query = c.req.valid("query");
  const page = await listAuditEvents(
    c.get("db"),
    c.get("apiKey").firm.id,
    { type: query.type, contactId: query.contactId, from: query.from, to: query.to, before: query.cursor ?? null },
    query.limit ?? 50,
  );
  return c.json(
    {
      data: page.rows.map((e) => ({
        id: e.id,
        at: new Date(e.at).toISOString(),
        type: e.type,
        actor: { type: e.actorType, id: e.actorId, label: e.actorLabel },
        contactId: e.contactId,
        detail: parseDetail(e.detail),
        ip: e.ip,
        userAgent: e.userAgent,
      })),
      nextCursor: page.next,
    },
    200,
  );
});

// ---------------------------------------------------------------------------------------------------
// The reference

export function openApiDocument(appUrl: string) {
  return v1.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Client Portal API",
      version: "1.0.0",
      description:
        "Manage your firm's client portal access from your own systems. Authenticate with `Authorization: Bearer <key>`; " +
        "writes accept an `Idempotency-Key` header; errors share one JSON shape. See docs/api.md.",
    },
    servers: [{ url: `${appUrl.replace(/\/$/, "")}/api/v1` }],
  });
}

v1.get("/openapi.json", (c) => c.json(openApiDocument(c.env.APP_URL)));
v1.get("/docs", (c) => c.html(renderReferencePage(openApiDocument(c.env.APP_URL))));
