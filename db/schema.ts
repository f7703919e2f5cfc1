// The D1 schema. Times are integer milliseconds since the epoch (UTC).
// Every table that holds firm data carries firm_id so every query can be scoped to one firm.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

import { PLANS, SECURITY_MODES, STAFF_ROLES } from "../app/lib/domain";

export { PLANS, SECURITY_MODES, STAFF_ROLES };
export type { Plan, SecurityMode, StaffRole } from "../app/lib/domain";

const createdAt = () => integer("created_at").notNull().default(sql`(unixepoch() * 1000)`);

export const firms = sqliteTable("firms", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  plan: text("plan", { enum: PLANS }).notNull().default("business"),
  securityMode: text("security_mode", { enum: SECURITY_MODES }).notNull().default("magic_link_and_login"),
  staffTwoFactorRequired: integer("staff_two_factor_required", { mode: "boolean" }).notNull().default(false),
  /** Where clients' replies to the firm's emails go (Reply-To); null: replies go to the sending address. */
  replyToEmail: text("reply_to_email"),
  createdAt: createdAt(),
});

export const staffUsers = sqliteTable(
  "staff_users",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    role: text("role", { enum: STAFF_ROLES }).notNull().default("member"),
    passwordHash: text("password_hash").notNull(),
    totpSecret: text("totp_secret"),
    totpEnabledAt: integer("totp_enabled_at"),
    totpLastStep: integer("totp_last_step"),
    totpFailures: integer("totp_failures").notNull().default(0),
    totpLockedUntil: integer("totp_locked_until"),
    deactivatedAt: integer("deactivated_at"),
    createdAt: createdAt(),
  },
  (t) => [index("staff_users_firm_idx").on(t.firmId)],
);

export const contacts = sqliteTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    name: text("name").notNull(),
    email: text("email").notNull(),
    phone: text("phone"),
    // The client's company or entity (a trust, a partnership), when they are not filing as themselves.
    company: text("company"),
    notes: text("notes"),
    deletedAt: integer("deleted_at"),
    // Raised in the batch of every revoking action (login-email change, password reset, 2FA reset, sign out
    // of all devices, deletion). Links and account tokens carry the value they were mailed under and work
    // only while it is unchanged: a counter, not a time, so clock skew between Workers cannot matter.
    credentialEpoch: integer("credential_epoch").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("contacts_firm_name_idx").on(t.firmId, t.name),
    index("contacts_firm_email_idx").on(t.firmId, t.email),
    // One live contact per address in a firm, whatever its case: two parallel creates of one address
    // give one contact, because D1 refuses the second insert. Deleted contacts keep their address.
    uniqueIndex("contacts_firm_live_email_idx")
      .on(t.firmId, sql`lower(${t.email})`)
      .where(sql`${t.deletedAt} IS NULL`),
  ],
);

export const portalAccounts = sqliteTable(
  "portal_accounts",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    contactId: text("contact_id").notNull().references(() => contacts.id),
    email: text("email").notNull(),
    passwordHash: text("password_hash"),
    // AES-GCM ciphertext (base64) bound to firm id + account id; set only after a valid code.
    totpSecret: text("totp_secret"),
    totpEnabledAt: integer("totp_enabled_at"),
    totpLastStep: integer("totp_last_step"),
    totpFailures: integer("totp_failures").notNull().default(0),
    totpLockedUntil: integer("totp_locked_until"),
    passwordChangedAt: integer("password_changed_at"),
    lastSignInAt: integer("last_sign_in_at"),
    deactivatedAt: integer("deactivated_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("portal_accounts_contact_idx").on(t.contactId),
    uniqueIndex("portal_accounts_firm_email_idx").on(t.firmId, t.email),
  ],
);

export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: text("id").primaryKey(),
    portalAccountId: text("portal_account_id").notNull().references(() => portalAccounts.id),
    codeHash: text("code_hash").notNull(),
    usedAt: integer("used_at"),
    createdAt: createdAt(),
  },
  (t) => [index("recovery_codes_account_idx").on(t.portalAccountId)],
);

export const SESSION_KINDS = ["staff", "client_password", "client_link", "client_passkey"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    // SHA-256 of the cookie secret, hex. The secret itself never reaches the database.
    secretHash: text("secret_hash").notNull(),
    kind: text("kind", { enum: SESSION_KINDS }).notNull(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    staffUserId: text("staff_user_id"),
    portalAccountId: text("portal_account_id"),
    contactId: text("contact_id"),
    accessLinkId: text("access_link_id"),
    twoFactorVerifiedAt: integer("two_factor_verified_at"),
    reauthenticatedAt: integer("reauthenticated_at"),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [
    index("sessions_staff_idx").on(t.staffUserId),
    index("sessions_account_idx").on(t.portalAccountId),
    index("sessions_contact_idx").on(t.contactId),
    index("sessions_firm_kind_idx").on(t.firmId, t.kind),
  ],
);

export const ACCESS_LINK_PURPOSES = ["staff", "self_service", "invite"] as const;
export type AccessLinkPurpose = (typeof ACCESS_LINK_PURPOSES)[number];

// The authoritative record of a magic link. KV holds a copy for fast edge reads; the claim happens here.
export const accessLinks = sqliteTable(
  "access_links",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    contactId: text("contact_id").notNull().references(() => contacts.id),
    purpose: text("purpose", { enum: ACCESS_LINK_PURPOSES }).notNull(),
    requestId: text("request_id"),
    // The address the link was mailed to; it opens nothing once the contact's address is another one.
    sentTo: text("sent_to"),
    credentialEpoch: integer("credential_epoch").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    claimedAt: integer("claimed_at"),
    // SHA-256 of the claiming browser's device cookie.
    claimedDeviceHash: text("claimed_device_hash"),
    sessionExpiresAt: integer("session_expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("access_links_contact_idx").on(t.contactId, t.createdAt)],
);

export const ACCOUNT_TOKEN_KINDS = ["email_verification", "password_reset"] as const;
export type AccountTokenKind = (typeof ACCOUNT_TOKEN_KINDS)[number];

export const accountTokens = sqliteTable(
  "account_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    kind: text("kind", { enum: ACCOUNT_TOKEN_KINDS }).notNull(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    contactId: text("contact_id").notNull(),
    portalAccountId: text("portal_account_id"),
    email: text("email").notNull(),
    credentialEpoch: integer("credential_epoch").notNull().default(0),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("account_tokens_contact_idx").on(t.contactId)],
);

// A request is created open (staff send it as they create it) and becomes completed; there are no drafts.
export const REQUEST_STATUSES = ["open", "completed"] as const;
export const REMINDER_SCHEDULES = ["none", "gentle", "urgent"] as const;

export const requests = sqliteTable(
  "requests",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    contactId: text("contact_id").notNull().references(() => contacts.id),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    dueDate: text("due_date"),
    status: text("status", { enum: REQUEST_STATUSES }).notNull().default("open"),
    reminderSchedule: text("reminder_schedule", { enum: REMINDER_SCHEDULES }).notNull().default("none"),
    lastReminderOn: text("last_reminder_on"),
    createdByStaffId: text("created_by_staff_id"),
    sentAt: integer("sent_at"),
    completedAt: integer("completed_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("requests_contact_idx").on(t.contactId, t.dueDate),
    index("requests_firm_status_idx").on(t.firmId, t.status, t.dueDate),
  ],
);

export const ITEM_KINDS = ["task", "question", "file"] as const;

export const requestItems = sqliteTable(
  "request_items",
  {
    id: text("id").primaryKey(),
    requestId: text("request_id").notNull().references(() => requests.id),
    firmId: text("firm_id").notNull(),
    kind: text("kind", { enum: ITEM_KINDS }).notNull(),
    label: text("label").notNull(),
    position: integer("position").notNull(),
    answer: text("answer"),
    completedAt: integer("completed_at"),
  },
  (t) => [index("request_items_request_idx").on(t.requestId, t.position)],
);

export const requestFiles = sqliteTable(
  "request_files",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull(),
    requestId: text("request_id").notNull(),
    itemId: text("item_id").notNull(),
    objectKey: text("object_key").notNull(),
    fileName: text("file_name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    uploadedAt: integer("uploaded_at").notNull(),
  },
  (t) => [index("request_files_item_idx").on(t.itemId)],
);

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull(),
    at: integer("at").notNull(),
    type: text("type").notNull(),
    actorType: text("actor_type", { enum: ["staff", "client", "system", "api"] }).notNull(),
    actorId: text("actor_id"),
    actorLabel: text("actor_label"),
    contactId: text("contact_id"),
    detail: text("detail"),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [
    index("audit_events_firm_at_idx").on(t.firmId, t.at),
    index("audit_events_firm_type_idx").on(t.firmId, t.type, t.at),
    index("audit_events_contact_idx").on(t.contactId, t.at),
  ],
);

// No usable token at rest (docs/decisions/008): a body that carries a link holds a placeholder, and the
// link itself is sealed (AES-GCM, additional data = the row id) until delivery, then erased.
export const outbox = sqliteTable(
  "outbox",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id"),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    textBody: text("text_body").notNull(),
    /** The HTML alternative, with the same placeholder; null for messages queued before HTML bodies. */
    htmlBody: text("html_body"),
    /** base64(iv || AES-GCM ciphertext) of the secret URL the body's placeholder stands for; null once delivered. */
    sealedSecret: text("sealed_secret"),
    createdAt: integer("created_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    /** A delivery run holds the row until then, so overlapping runs never send it twice. */
    claimedUntil: integer("claimed_until"),
    claimedBy: text("claimed_by"),
    sentAt: integer("sent_at"),
    /** Given up: the provider refused the message (a 4xx) or every attempt failed. Never retried. */
    failedAt: integer("failed_at"),
    lastError: text("last_error"),
  },
  (t) => [
    index("outbox_pending_idx").on(t.sentAt, t.nextAttemptAt),
    index("outbox_created_idx").on(t.createdAt),
    // The contact page's "last email to this contact" lookup.
    index("outbox_recipient_idx").on(t.firmId, t.toAddress, t.createdAt),
  ],
);

// Fixed-window counters for throttling. D1 rather than KV: KV is eventually consistent and
// allows one write per key per second, so it cannot count.
export const rateLimits = sqliteTable(
  "rate_limits",
  {
    key: text("key").notNull(),
    windowStart: integer("window_start").notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.key, t.windowStart] }),
    // The scheduled job deletes windows older than a day; without this it read every counter to find them.
    index("rate_limits_window_idx").on(t.windowStart),
  ],
);

export const INVITE_SCOPES = ["selected", "without_account"] as const;
export type InviteScope = (typeof INVITE_SCOPES)[number];

// A bulk "Send portal invite". Each contact costs two D1 statements (the link and its email), more than
// one Worker invocation may run for thousands of contacts, so a run is sent in chunks: the request that
// starts it sends the first ones, the next requests (the progress page, the cron) continue from `cursor`.
export const inviteRuns = sqliteTable(
  "invite_runs",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull(),
    staffUserId: text("staff_user_id").notNull(),
    staffEmail: text("staff_email").notNull(),
    scope: text("scope", { enum: INVITE_SCOPES }).notNull(),
    // JSON array of contact ids for scope "selected" (at most one page of the list).
    contactIds: text("contact_ids"),
    // The last contact id handled, in id order; a chunk claims the next contacts by moving it.
    cursor: text("cursor").notNull().default(""),
    total: integer("total").notNull(),
    sent: integer("sent").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    index("invite_runs_firm_idx").on(t.firmId, t.finishedAt),
    // The scheduled job takes the oldest unfinished run of any firm.
    index("invite_runs_open_idx").on(t.finishedAt, t.createdAt),
  ],
);

export const API_KEY_SCOPES = ["read", "read_write"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

// Per-firm keys of the public API. The key is shown once; only SHA-256 of its secret part is stored.
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull(),
    name: text("name").notNull(),
    keyHash: text("key_hash").notNull().unique(),
    // What the key may do (SECURITY.md rule 36): "read" keys get 403 on every write.
    scope: text("scope", { enum: API_KEY_SCOPES }).notNull().default("read"),
    createdByStaffId: text("created_by_staff_id"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [index("api_keys_firm_idx").on(t.firmId)],
);

export const CONTACT_IMPORT_STATUSES = ["ready", "running", "completed", "cancelled"] as const;
export type ContactImportStatus = (typeof CONTACT_IMPORT_STATUSES)[number];
/** Why a cancelled import stopped: someone's "Stop the import", or the scheduled job after a week (ADR 013). */
export const CONTACT_IMPORT_STOP_REASONS = ["cancelled", "abandoned"] as const;
export type ContactImportStopReason = (typeof CONTACT_IMPORT_STOP_REASONS)[number];
export const CONTACT_IMPORT_MODES = ["skip", "update"] as const;
export type ContactImportMode = (typeof CONTACT_IMPORT_MODES)[number];

// A CSV import of contacts (ADR 013). The file itself is in R2 under object_key until the import
// ends; rows are imported in chunks, each one D1 batch that also advances next_row, so an
// interrupted import resumes exactly where it stopped.
export const contactImports = sqliteTable(
  "contact_imports",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    createdByStaffId: text("created_by_staff_id").notNull(),
    createdByLabel: text("created_by_label").notNull(),
    fileName: text("file_name").notNull(),
    fileSize: integer("file_size").notNull(),
    objectKey: text("object_key").notNull(),
    status: text("status", { enum: CONTACT_IMPORT_STATUSES }).notNull().default("ready"),
    // Set with status "cancelled"; the staff member's email when someone stopped it (as createdByLabel).
    stopReason: text("stop_reason", { enum: CONTACT_IMPORT_STOP_REASONS }),
    stoppedByLabel: text("stopped_by_label"),
    mode: text("mode", { enum: CONTACT_IMPORT_MODES }).notNull().default("skip"),
    // JSON: { field: column index } for name, firstName, lastName, email, phone, company, notes.
    mapping: text("mapping").notNull(),
    // JSON: the header cells, as read, to label the columns.
    header: text("header").notNull(),
    totalRows: integer("total_rows").notNull(),
    // Index (0-based, among data rows) of the next row to import.
    nextRow: integer("next_row").notNull().default(0),
    createdCount: integer("created_count").notNull().default(0),
    updatedCount: integer("updated_count").notNull().default(0),
    skippedCount: integer("skipped_count").notNull().default(0),
    failedCount: integer("failed_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    completedAt: integer("completed_at"),
  },
  (t) => [
    index("contact_imports_firm_idx").on(t.firmId, t.createdAt),
    // The scheduled job finds unfinished imports older than a week across all firms (ADR 013): without
    // this it read the whole table, which only grows, on every run.
    index("contact_imports_status_idx").on(t.status, t.createdAt),
  ],
);

// The rows an import skipped or could not import, with the reason: the downloadable report.
export const contactImportProblems = sqliteTable(
  "contact_import_problems",
  {
    importId: text("import_id").notNull(),
    firmId: text("firm_id").notNull(),
    // The row as a spreadsheet numbers it (the header is row 1).
    rowNumber: integer("row_number").notNull(),
    outcome: text("outcome", { enum: ["skipped", "failed"] }).notNull(),
    reason: text("reason").notNull(),
    name: text("name"),
    email: text("email"),
    phone: text("phone"),
    company: text("company"),
    notes: text("notes"),
  },
  (t) => [primaryKey({ columns: [t.importId, t.rowNumber] })],
);

// What a write sent with an Idempotency-Key answered, for 24 hours, so a retried call does not act twice.
// The row is written before the write runs (status null: in progress) and completed after it.
export const apiIdempotency = sqliteTable(
  "api_idempotency",
  {
    firmId: text("firm_id").notNull(),
    apiKeyId: text("api_key_id").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    /** SHA-256 of method, path and body: the same key with another request is refused. */
    requestHash: text("request_hash").notNull(),
    status: integer("status"),
    body: text("body"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.idempotencyKey] }), index("api_idempotency_created_idx").on(t.createdAt)],
);

// Passkeys (WebAuthn credentials, docs/decisions/019). Every firm shares one RP ID (the app's host), so a
// credential is bound here to one owner of one firm: a client's portal account or a staff user, never both.
export const webauthnCredentials = sqliteTable(
  "webauthn_credentials",
  {
    id: text("id").primaryKey(),
    firmId: text("firm_id").notNull().references(() => firms.id),
    portalAccountId: text("portal_account_id"),
    staffUserId: text("staff_user_id"),
    /** The credential id the authenticator made, base64url. */
    credentialId: text("credential_id").notNull().unique(),
    /** The random user handle (not an email) the passkey was registered under, base64url. */
    userHandle: text("user_handle").notNull(),
    /** SEC1 uncompressed point (ES256) or PKCS#1 (RS256), base64. */
    publicKey: text("public_key").notNull(),
    /** COSE algorithm: -7 (ES256) or -257 (RS256). */
    algorithm: integer("algorithm").notNull(),
    signCount: integer("sign_count").notNull().default(0),
    /** BE flag: the passkey may be synced (copied to the owner's other devices by their provider). */
    backupEligible: integer("backup_eligible", { mode: "boolean" }).notNull().default(false),
    /** BS flag at its last use: the passkey is synced now. */
    backedUp: integer("backed_up", { mode: "boolean" }).notNull().default(false),
    /** JSON array of transports the browser reported ("internal", "hybrid", "usb", ...). */
    transports: text("transports"),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [
    index("webauthn_credentials_account_idx").on(t.portalAccountId),
    index("webauthn_credentials_staff_idx").on(t.staffUserId),
    check("webauthn_credentials_one_owner", sql`(${t.portalAccountId} IS NULL) <> (${t.staffUserId} IS NULL)`),
  ],
);

export const WEBAUTHN_PURPOSES = ["register", "authenticate"] as const;
export type WebauthnPurpose = (typeof WEBAUTHN_PURPOSES)[number];

// A ceremony's challenge: in D1, not KV, because it is claimed exactly once (a DELETE ... RETURNING).
// Bound to what asked for it: a session (registration, a second step) or the browser's device cookie
// before there is a session (sign-in). Only SHA-256 of the challenge is stored.
export const webauthnChallenges = sqliteTable(
  "webauthn_challenges",
  {
    challengeHash: text("challenge_hash").primaryKey(),
    firmId: text("firm_id"),
    purpose: text("purpose", { enum: WEBAUTHN_PURPOSES }).notNull(),
    /** SHA-256 of "session:<id>" or "device:<id>". */
    boundTo: text("bound_to").notNull(),
    /** Registration: the user handle the options carried, which the new credential is stored under. */
    userHandle: text("user_handle"),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("webauthn_challenges_expires_idx").on(t.expiresAt)],
);
