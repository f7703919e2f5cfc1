// A staff member's first password, chosen through a single-use link (docs/decisions/017). Until it is
// chosen, the account's password_hash holds a set-up marker, `setup$<SHA-256 of the link secret>$<expiry>`,
// which is no scrypt hash and so never signs in. Only the hash of the secret is stored; the link is shown
// once (to the operator by `npm run firm:create`) and never stored or logged by the app.
// Also the firm-creation statements of that command, as SQL text for `wrangler d1 execute`.
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { auditEvents, staffUsers } from "../../../db/schema";
import { literal } from "../../../db/sql-text";
import { PLANS } from "../../lib/domain";
import { auditRow } from "../audit.server";
import { constantTimeEqual, generateId, generateToken, sha256Hex } from "../crypto.server";
import { insertWhere, type Database } from "../db.server";
import { hashPassword } from "../auth/passwords.server";
import { emailField } from "../fields";
import type { RequestMeta } from "../request-meta.server";
import type { Result } from "../result";
import type { StaffUser } from "../types";

/** The operator hands the link over by hand: a week, single use, void once replaced. */
export const SETUP_LINK_VALIDITY_MS = 7 * 24 * 60 * 60_000;
const MARKER_PREFIX = "setup$";
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/;

export type SetupLink = { marker: string; secret: string };

/** A new link secret and the marker that stands in the password_hash column for it. */
export async function newSetupLink(now = Date.now()): Promise<SetupLink> {
  const secret = generateToken();
  return { secret, marker: `${MARKER_PREFIX}${await sha256Hex(secret)}$${now + SETUP_LINK_VALIDITY_MS}` };
}

export function setupLinkUrl(appUrl: string, staffId: string, secret: string): string {
  return `${appUrl.replace(/\/$/, "")}/login/set-password?token=${staffId}.${secret}`;
}

export function isSetupMarker(passwordHash: string): boolean {
  return passwordHash.startsWith(MARKER_PREFIX);
}

/** The staff member a set-up token is for, while it is unused, unexpired and the account active; else null. */
export async function findStaffForSetup(db: Database, token: string, now = Date.now()): Promise<StaffUser | null> {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const [, staffId, secret] = match;
  const staff = await db.query.staffUsers.findFirst({ where: and(eq(staffUsers.id, staffId), isNull(staffUsers.deactivatedAt)) });
  if (!staff || !isSetupMarker(staff.passwordHash)) return null;
  const [hash, expiresAt] = staff.passwordHash.slice(MARKER_PREFIX.length).split("$");
  if (!constantTimeEqual(hash ?? "", await sha256Hex(secret))) return null;
  return Number(expiresAt) > now ? staff : null;
}

export const SETUP_LINK_USED = "This link has expired or was already used. Ask whoever set up your firm for a new one.";

/**
 * Sets the first password. The UPDATE applies only while the marker it checked is still in place, so of
 * two submissions of one link exactly one sets a password; the audit event, placed before it in the same
 * batch, is inserted only while that marker is there (ADR 005's claim pattern, db.server.ts insertWhere).
 */
export async function setFirstPassword(db: Database, token: string, password: string, meta: RequestMeta, now = Date.now()): Promise<Result> {
  const staff = await findStaffForSetup(db, token, now);
  if (!staff) return { ok: false, status: 400, error: SETUP_LINK_USED };
  const passwordHash = await hashPassword(password);
  const stillUnset = and(eq(staffUsers.id, staff.id), eq(staffUsers.passwordHash, staff.passwordHash))!;
  const event = auditRow({ firmId: staff.firmId, type: "staff.password_set", actor: { type: "staff", id: staff.id, label: staff.email }, ...meta, at: now });
  const [, updated] = await db.batch([
    insertWhere(db, auditEvents, event, sql`EXISTS (SELECT 1 FROM ${staffUsers} WHERE ${stillUnset})`),
    db.update(staffUsers).set({ passwordHash }).where(stillUnset).returning({ id: staffUsers.id }),
  ]);
  return updated.length === 1 ? { ok: true } : { ok: false, status: 400, error: SETUP_LINK_USED };
}

// ---------------------------------------------------------------------------------------------
// `npm run firm:create`

const slugField = z
  .string({ required_error: "--slug is required" })
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/, "--slug: 1 to 48 lowercase letters, digits and dashes, not starting or ending with a dash");

export const newFirmSchema = z.object({
  name: z.string({ required_error: "--name is required" }).trim().min(1, "--name is required").max(120, "--name: at most 120 characters"),
  slug: slugField,
  adminEmail: emailField,
  adminName: z.string().trim().min(1).max(120).optional(),
  plan: z.enum(PLANS, { errorMap: () => ({ message: `--plan: one of ${PLANS.join(", ")}` }) }).default("business"),
});
export type NewFirm = z.infer<typeof newFirmSchema>;

/** Whether the slug or the admin's address is taken: one SELECT, run before the writes. */
export function firmConflictsSql(firm: Pick<NewFirm, "slug" | "adminEmail">): string {
  return `SELECT (SELECT count(*) FROM firms WHERE slug = ${literal(firm.slug)}) AS slug_taken,
    (SELECT count(*) FROM staff_users WHERE email = ${literal(firm.adminEmail)}) AS email_taken;`;
}

/**
 * The firm, its first admin (password_hash = the set-up marker) and the audit event, as statements for
 * one `wrangler d1 execute` call, which D1 runs as one batch: all or nothing. The slug and email are
 * unique in the schema, so a firm created meanwhile under the same slug fails the whole batch.
 */
export function createFirmSql(firm: NewFirm, ids: { firmId: string; staffId: string; eventId: string }, marker: string, now: number): string[] {
  const adminName = firm.adminName ?? firm.adminEmail.split("@")[0];
  return [
    `INSERT INTO firms (id, name, slug, plan, created_at) VALUES (${literal(ids.firmId)}, ${literal(firm.name)}, ${literal(firm.slug)}, ${literal(firm.plan)}, ${now});`,
    `INSERT INTO staff_users (id, firm_id, email, name, role, password_hash, created_at)
     VALUES (${literal(ids.staffId)}, ${literal(ids.firmId)}, ${literal(firm.adminEmail)}, ${literal(adminName)}, 'admin', ${literal(marker)}, ${now});`,
    `INSERT INTO audit_events (id, firm_id, at, type, actor_type, actor_label, detail)
     VALUES (${literal(ids.eventId)}, ${literal(ids.firmId)}, ${now}, 'firm.created', 'system', 'Operator', json_object('plan', ${literal(firm.plan)}, 'admin', ${literal(firm.adminEmail)}));`,
  ];
}

/** A new set-up link for an admin who has not chosen a password yet (the first one expired or was lost). */
export function reissueSetupSql(slug: string, adminEmail: string, marker: string): string {
  return `UPDATE staff_users SET password_hash = ${literal(marker)}
    WHERE email = ${literal(adminEmail)} AND password_hash LIKE 'setup$%' AND deactivated_at IS NULL
      AND firm_id = (SELECT id FROM firms WHERE slug = ${literal(slug)})
    RETURNING id;`;
}

export function newFirmIds(): { firmId: string; staffId: string; eventId: string } {
  return { firmId: generateId(), staffId: generateId(), eventId: generateId() };
}

