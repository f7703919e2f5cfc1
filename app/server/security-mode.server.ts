// The firm-wide portal security setting (PRODUCT.md "The firm-wide portal security setting").
import { and, count, eq, inArray, isNull } from "drizzle-orm";
import { firms, sessions, type Plan, type SecurityMode } from "../../db/schema";
import { auditEvent } from "./audit.server";
import { runBatch, type Database } from "./db.server";
import { auditActorOf, type Acting } from "./acting.server";
import type { StaffAuth } from "./staff-auth.server";


export function planAllowsTwoFactorMode(plan: Plan): boolean {
  return plan === "business" || plan === "enterprise";
}

/**
 * Modes an admin may pick. 2FA needs a Business or Enterprise plan; a firm that already uses it
 * keeps it after a downgrade (fail secure), but cannot pick it again once it switches away.
 */
export function selectableModes(firm: { plan: Plan; securityMode: SecurityMode }): SecurityMode[] {
  const modes: SecurityMode[] = ["magic_link_and_login", "magic_link_only"];
  if (planAllowsTwoFactorMode(firm.plan) || firm.securityMode === "magic_link_and_login_2fa") modes.push("magic_link_and_login_2fa");
  return modes;
}

/** Client sessions that a switch to `mode` ends. */
function endedSessionsCondition(firmId: string, mode: SecurityMode) {
  if (mode === "magic_link_only") return and(eq(sessions.firmId, firmId), eq(sessions.kind, "client_password"));
  if (mode === "magic_link_and_login_2fa") {
    return and(eq(sessions.firmId, firmId), inArray(sessions.kind, ["client_password", "client_link"]), isNull(sessions.twoFactorVerifiedAt));
  }
  return null;
}

export async function countSessionsEndedBySwitch(db: Database, firmId: string, mode: SecurityMode): Promise<number> {
  const condition = endedSessionsCondition(firmId, mode);
  if (!condition) return 0;
  const [row] = await db.select({ n: count() }).from(sessions).where(condition);
  return row?.n ?? 0;
}

export type ModeChange = { ok: true; changed: boolean; endedSessions: number } | { ok: false; status: 400 | 403; error: string };

/** Staff must be admins; an API key reaches here only with its write scope (checked by the API). */
export async function changeSecurityMode(db: Database, auth: Acting, mode: SecurityMode, meta: { ip: string; userAgent: string }): Promise<ModeChange> {
  const { firm } = auth;
  if ("staff" in auth && auth.staff.role !== "admin") return { ok: false, status: 403, error: "Only firm admins can change the portal security setting." };
  if (mode === firm.securityMode) return { ok: true, changed: false, endedSessions: 0 };
  if (!selectableModes(firm).includes(mode)) {
    return { ok: false, status: 403, error: "Magic link + Login 2FA is available on Business and Enterprise plans." };
  }
  const condition = endedSessionsCondition(firm.id, mode);
  const endedSessions = await countSessionsEndedBySwitch(db, firm.id, mode);
  await runBatch(db, [
    db.update(firms).set({ securityMode: mode }).where(eq(firms.id, firm.id)),
    ...(condition ? [db.delete(sessions).where(condition)] : []),
    auditEvent(db, {
      firmId: firm.id,
      type: "firm.security_mode_changed",
      actor: auditActorOf(auth),
      detail: { from: firm.securityMode, to: mode, endedSessions },
      ip: meta.ip,
      userAgent: meta.userAgent,
    }),
  ]);
  return { ok: true, changed: true, endedSessions };
}

/** "Require 2FA for all staff": staff without it are sent to set it up at their next click. */
export async function setStaffTwoFactorRequired(db: Database, auth: StaffAuth, required: boolean, meta: { ip: string; userAgent: string }) {
  await runBatch(db, [
    db.update(firms).set({ staffTwoFactorRequired: required }).where(eq(firms.id, auth.firm.id)),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "firm.staff_two_factor_required_changed",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      detail: { required },
      ip: meta.ip,
      userAgent: meta.userAgent,
    }),
  ]);
}
