// The public API's request and response schemas. They validate every request and are the source of
// the OpenAPI 3.1 document (/api/v1/openapi.json), so the documentation cannot drift from the checks.
import { z } from "@hono/zod-openapi";
import { CONTACT_FILTERS, CONTACT_SORTS } from "~/lib/contact-filters";
import { SECURITY_MODES } from "~/lib/domain";
import { contactFormSchema } from "~/server/staff/contact-editing.server";
import { PLANS } from "../../db/schema";

const isoTime = (description: string) => z.string().datetime().nullable().openapi({ description, example: "2026-11-29T20:00:00.000Z" });

export const SecurityModeSchema = z.enum(SECURITY_MODES).openapi("SecurityMode", {
  description:
    "magic_link_and_login: emailed links open requests, passwords work, 2FA optional per client. magic_link_only: only emailed links; password sign-in is off. magic_link_and_login_2fa: password and an authenticator code for every client (Business and Enterprise plans).",
});

export const SecuritySettingSchema = z
  .object({
    mode: SecurityModeSchema,
    plan: z.enum(PLANS),
    selectableModes: z.array(SecurityModeSchema).openapi({ description: "Modes this firm may switch to now (plan gating)." }),
  })
  .openapi("SecuritySetting");

export const SecurityModeChangeSchema = z
  .object({ mode: SecurityModeSchema })
  .strict()
  .openapi("SecurityModeChange");

export const SecurityModeChangedSchema = z
  .object({
    mode: SecurityModeSchema,
    changed: z.boolean().openapi({ description: "False when the firm already used this mode." }),
    endedSessions: z.number().int().openapi({ description: "Client sessions the switch ended." }),
  })
  .openapi("SecurityModeChanged");

const PortalAccessSchema = z
  .object({
    status: z.enum(["account", "invited", "none"]).openapi({ description: "Has a portal login, was invited, or neither." }),
    loginEmail: z.string().nullable(),
    twoFactorEnabled: z.boolean(),
    twoFactorEnabledAt: isoTime("When the client turned on two-factor authentication."),
    lastSignInAt: isoTime("The client's last sign-in."),
    invitedAt: isoTime("The latest portal invite."),
  })
  .openapi("PortalAccess");

export const ContactSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    company: z.string().nullable(),
    portal: PortalAccessSchema,
  })
  .openapi("ContactSummary");

export const ContactSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    company: z.string().nullable(),
    notes: z.string().nullable(),
    createdAt: isoTime("When the contact was added."),
    deletedAt: isoTime("Set when the contact was deleted (their login is deactivated)."),
    portal: PortalAccessSchema.extend({
      loginDeactivated: z.boolean().openapi({ description: "The login exists but is off because the contact was deleted." }),
      activeSessions: z.number().int(),
      activeLinks: z.number().int().openapi({ description: "Unclaimed, unexpired access links." }),
      passkeys: z.number().int().openapi({ description: "Passkeys registered on the client's portal login." }),
    }),
  })
  .openapi("Contact");

export const ContactPageSchema = z
  .object({
    data: z.array(ContactSummarySchema),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
  })
  .openapi("ContactPage");

export const ContactListQuery = z.object({
  search: z.string().max(200).optional().openapi({ description: "Text in the name or email." }),
  filter: z.enum(CONTACT_FILTERS).optional().openapi({ description: "Portal access filter, as on the contacts page." }),
  sort: z.enum(CONTACT_SORTS).optional(),
  dir: z.enum(["asc", "desc"]).optional(),
  deleted: z.enum(["true", "false"]).optional().openapi({ description: "`true` lists deleted contacts only." }),
  cursor: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: "1 to 100, default 50.", type: "integer" }),
});

/** The fields of a contact as sent by a client; the rules (lengths, email, phone) are the contact form's. */
const contactFields = {
  name: z.string().max(1000).openapi({ description: "1 to 200 characters.", example: "Olivia Chen" }),
  email: z.string().max(1000).openapi({ description: "Unique among the firm's live contacts.", example: "olivia@client.example" }),
  phone: z.string().max(1000).nullable().optional(),
  company: z.string().max(1000).nullable().optional(),
  notes: z.string().max(10_000).nullable().optional(),
};

/** The Add contact form's own schema (names, lengths, email and phone rules), refusing unknown fields. */
export const ContactCreateSchema = contactFormSchema.strict().openapi("ContactCreate");

export const ContactUpdateSchema = z
  .object({
    name: contactFields.name.optional(),
    email: contactFields.email.optional().openapi({
      description: "Only for a contact without a portal login; a login's email changes through the firm app (both addresses are told).",
    }),
    phone: contactFields.phone,
    company: contactFields.company,
    notes: contactFields.notes,
  })
  .strict()
  .openapi("ContactUpdate", { description: "Fields to change; absent fields keep their value, null clears an optional field." });

export const PortalLinkRequestSchema = z
  .object({
    kind: z.enum(["link", "invite"]).openapi({
      description: "`link`: a portal link (Send portal link). `invite`: a portal invite whose page invites them to create a login.",
    }),
  })
  .strict()
  .openapi("PortalLinkRequest");

export const PortalLinkSentSchema = z
  .object({ sentTo: z.string(), kind: z.enum(["link", "invite"]), expiresAt: isoTime("Until when the emailed link can be claimed.") })
  .openapi("PortalLinkSent");

/** The rule of the Edit login details form for the reason of a reset. */
const resetReason = z
  .string({ required_error: "Give a reason.", invalid_type_error: "Give a reason." })
  .trim()
  .min(3, "Give a reason of 3 to 500 characters.")
  .max(500, "Give a reason of 3 to 500 characters.")
  .openapi({ description: "Why; recorded in the audit log." });

export const TwoFactorDeactivationSchema = z.object({ reason: resetReason }).strict().openapi("TwoFactorDeactivation");

export const PasskeyRemovalSchema = z.object({ reason: resetReason }).strict().openapi("PasskeyRemoval");

export const DoneSchema = z.object({ message: z.string() }).openapi("Done");

export const ContactIdParams = z.object({
  contactId: z.string().max(200).openapi({ param: { name: "contactId", in: "path" }, example: "3f1c9e52-8a1e-4d55-9d8e-2c7f1a6b5e01" }),
});

export const AuditEventSchema = z
  .object({
    id: z.string(),
    at: z.string().datetime(),
    type: z.string().openapi({ example: "client.two_factor_reset" }),
    actor: z.object({
      type: z.enum(["staff", "client", "system", "api"]),
      id: z.string().nullable(),
      label: z.string().nullable().openapi({ description: "A staff email, a client email, or `api_key:<name>`." }),
    }),
    contactId: z.string().nullable(),
    detail: z.record(z.unknown()).nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  })
  .openapi("AuditEvent");

export const AuditPageSchema = z
  .object({ data: z.array(AuditEventSchema), nextCursor: z.string().nullable() })
  .openapi("AuditEventPage");

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date as YYYY-MM-DD.")
  .refine((value) => {
    const ms = Date.parse(`${value}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === value;
  }, "Use a real calendar date as YYYY-MM-DD.");

export const AuditListQuery = z.object({
  type: z.string().max(80).regex(/^[a-z_.]+$/, "Use an event type such as client.two_factor_reset.").optional(),
  contactId: z.string().max(64).regex(/^[A-Za-z0-9_-]+$/, "Use a contact id.").optional(),
  from: day.optional().openapi({ description: "First day (UTC), inclusive." }),
  to: day.optional().openapi({ description: "Last day (UTC), inclusive." }),
  cursor: z.string().max(200).regex(/^\d+_[A-Za-z0-9_-]+$/, "Use the nextCursor of a previous page.").optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: "1 to 100, default 50.", type: "integer" }),
});

// Documents the header; idempotent() in middleware.ts reads and checks it (headers are case-insensitive).
export const IdempotencyHeaders = z.object({
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi({
      description: "Any unique string up to 255 printable ASCII characters. A retry with the same key and body within 24 hours returns the first answer and acts once.",
    }),
});
