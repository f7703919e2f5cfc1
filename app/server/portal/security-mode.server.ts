// The firm-wide portal security setting (PRODUCT.md "The firm-wide portal security setting").
// What each mode means (which sessions a switch ends, which modes a plan offers) is the portal policy's;
// this module writes the switch.
import { and, count, eq, sql } from "drizzle-orm";
import { auditEvents, firms, sessions, type SecurityMode } from "../../../db/schema";
import { auditEvent, auditRow } from "../audit.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import { modeSwitchRefusal, sessionsEndedBySwitch } from "./portal-policy.server";
import type { RequestMeta } from "../request-meta.server";
import type { Result } from "../result";
import { auditActorOf, type Acting } from "../acting.server";
import type { StaffAuth } from "../staff/staff-auth.server";

export async function countSessionsEndedBySwitch(db: Database, firmId: string, mode: SecurityMode): Promise<number> {
  const condition = sessionsEndedBySwitch(firmId, mode);
  if (!condition) return 0;
  const [row] = await db.select({ n: count() }).from(sessions).where(condition);
  return row?.n ?? 0;
}

export type ModeChange = Result<{ changed: boolean; endedSessions: number }>;

export const MODE_CHANGED_MEANWHILE = "The setting was just changed by someone else. Reload the page to see it, then choose again.";

/**
 * Switches the firm's mode, ends the sessions the new mode does not allow and audits it, in one batch
 * that holds only if the firm is still in the mode this admin saw (`expectedFrom`, from the review
 * step; else the mode read with this request). Two admins switching at once give one winner; the other
 * is told to reload, never shown "saved" for a switch reviewed against a state that no longer exists.
 */
export async function changeSecurityMode(
  db: Database,
  auth: Acting,
  mode: SecurityMode,
  meta: RequestMeta,
  expectedFrom?: SecurityMode,
): Promise<ModeChange> {
  const { firm } = auth;
  // Staff must be admins; an API key reaches here only with its write scope (checked by the API).
  if ("staff" in auth && auth.staff.role !== "admin") return { ok: false, status: 403, error: "Only firm admins can change the portal security setting." };
  if (mode === firm.securityMode) return { ok: true, changed: false, endedSessions: 0 };
  if (expectedFrom && expectedFrom !== firm.securityMode) return { ok: false, status: 409, error: MODE_CHANGED_MEANWHILE };
  const refusal = modeSwitchRefusal(firm, mode);
  if (refusal) return refusal;
  const from = firm.securityMode;
  const stillFrom = sql`exists (select 1 from ${firms} where ${firms.id} = ${firm.id} and ${firms.securityMode} = ${from})`;
  const condition = sessionsEndedBySwitch(firm.id, mode);
  // The audit row is written before the delete in the same transaction, so its count is exactly what
  // the delete removes (a client signing in meanwhile cannot make it drift).
  const ended = condition ? sql`(select count(*) from ${sessions} where ${condition})` : sql`0`;
  const audit = auditRow({
    firmId: firm.id,
    type: "firm.security_mode_changed",
    actor: auditActorOf(auth),
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  const detail = sql`json_object('from', ${from}, 'to', ${mode}, 'endedSessions', ${ended})`;
  // Writes conditional on the claim come before it; the claim (the UPDATE) comes last.
  const statements: Statement[] = [
    insertWhere(db, auditEvents, { ...audit, detail: detail as unknown as string }, stillFrom),
    ...(condition ? [db.delete(sessions).where(and(condition, stillFrom)).returning({ id: sessions.id })] : []),
    db.update(firms).set({ securityMode: mode }).where(and(eq(firms.id, firm.id), eq(firms.securityMode, from))).returning({ id: firms.id }),
  ];
  const results = (await db.batch(statements as [Statement, ...Statement[]])) as unknown[];
  const claimed = results[results.length - 1] as Array<{ id: string }>;
  if (claimed.length !== 1) {
    const now = await db.query.firms.findFirst({ columns: { securityMode: true }, where: eq(firms.id, firm.id) });
    if (now?.securityMode === mode) return { ok: true, changed: false, endedSessions: 0 };
    return { ok: false, status: 409, error: MODE_CHANGED_MEANWHILE };
  }
  const endedSessions = condition ? (results[1] as unknown[]).length : 0;
  return { ok: true, changed: true, endedSessions };
}

/** "Require 2FA for all staff": staff without it are sent to set it up at their next click. */
export async function setStaffTwoFactorRequired(db: Database, auth: StaffAuth, required: boolean, meta: RequestMeta) {
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
