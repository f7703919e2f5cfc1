// Staff sign-in, the staff session of a request, and the guards every staff route uses.
import type { AppLoadContext } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { and, eq, gt, sql, type SQL } from "drizzle-orm";
import { auditEvents, firms, sessions, staffUsers } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { STAFF_SESSION_COOKIE, clearCookie, readCookie, setCookie } from "../cookies.server";
import { runBatch, type Database } from "../db.server";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../auth/passwords.server";
import { KNOWN_PLACE_MS, countPasswordFailure, passwordThrottleState, samePlace, type PasswordAttempt } from "../rate-limit.server";
import type { RequestMeta } from "../request-meta.server";
import type { Result } from "../result";
import { staffPasskeyCount } from "../auth/passkey-owners.server";
import { ABSOLUTE_TIMEOUT_MS, checkSession, deleteSession, issueSession, ofSession, rotateSession, tokenParts, touchSession } from "../auth/sessions.server";
import { createReader, type Read } from "../read-batch.server";
import { statement } from "../statements.server";
import type { Session } from "../types";
import type { Firm, StaffUser } from "../types";

/** `passkeys`: how many passkeys the staff member has (a passkey is a second factor where the firm requires one). */
export type StaffAuth = { session: Session; staff: StaffUser; firm: Firm; passkeys: number };

/** Sensitive staff actions need a password entered within this window. */
export const REAUTH_WINDOW_MS = 10 * 60_000;

/** Built once per isolate (statements.server.ts): every staff page view reads them. */
const staffSession = {
  session: statement(["sessionId"], (db, p) => db.select().from(sessions).where(and(eq(sessions.id, p.sessionId), eq(sessions.kind, "staff"))).limit(1)),
  staff: statement(["sessionId"], (db, p) =>
    db
      .select({ staff: staffUsers, passkeys: staffPasskeyCount(sql`"staff_users"."id"`).as("passkeys") })
      .from(staffUsers)
      .where(eq(staffUsers.id, ofSession(p.sessionId, sessions.staffUserId)))
      .limit(1),
  ),
  firm: statement(["sessionId"], (db, p) => db.select().from(firms).where(eq(firms.id, ofSession(p.sessionId, sessions.firmId))).limit(1)),
};

/**
 * The session of the cookie with its staff member and firm, as three single-table reads that go out in
 * the request's batch (read-batch.server.ts) together with the page's own queries. (One join would return
 * the three tables' same-named columns, which a D1 batch cannot tell apart.) Clears dead sessions.
 */
async function loadStaffSession(db: Database, read: Read, request: Request, now: number): Promise<StaffAuth | null> {
  const parts = tokenParts(readCookie(request, STAFF_SESSION_COOKIE));
  if (!parts) return null;
  const ids = { sessionId: parts.id };
  const [[session], [staffRow], [firm]] = await Promise.all([read(staffSession.session(ids)), read(staffSession.staff(ids)), read(staffSession.firm(ids))]);
  const state = await checkSession(session, parts.secret, now);
  if (state !== "valid") {
    if (session && state !== "invalid") await deleteSession(db, session.id);
    return null;
  }
  const staff = staffRow?.staff;
  if (!staff || !firm || staff.firmId !== firm.id || staff.deactivatedAt) return null;
  return { session, staff, firm, passkeys: staffRow.passkeys };
}

export async function loadStaffAuth(db: Database, request: Request, now = Date.now(), read: Read = createReader(db)): Promise<StaffAuth | null> {
  const row = await loadStaffSession(db, read, request, now);
  if (!row) return null;
  // Staff who must use 2FA and have not passed it yet only reach /login/2fa.
  if (needsStaffSecondFactor(row) && !row.session.twoFactorVerifiedAt) return null;
  await touchSession(db, row.session, now);
  return row;
}

/**
 * The session of a staff member between password and code: valid, but still waiting for the second
 * factor. Only /login/2fa uses it; every other page goes through loadStaffAuth, which refuses it.
 */
export async function loadPendingStaffSession(db: Database, request: Request, now = Date.now()): Promise<StaffAuth | null> {
  const row = await loadStaffSession(db, createReader(db), request, now);
  if (!row || !needsStaffSecondFactor(row) || row.session.twoFactorVerifiedAt) return null;
  return row;
}

/**
 * Whether a sign-in must pass a second factor: the staff member turned on an authenticator app, or the
 * firm requires 2FA of all staff and their passkey is their second factor (a passkey with user
 * verification passes it; without, or after a password, /login/2fa asks for the passkey).
 */
export function needsStaffSecondFactor(facts: { staff: Pick<StaffUser, "totpEnabledAt">; firm: Pick<Firm, "staffTwoFactorRequired">; passkeys: number }): boolean {
  return facts.staff.totpEnabledAt !== null || (facts.firm.staffTwoFactorRequired && facts.passkeys > 0);
}

function signInRedirect(request: Request): never {
  const url = new URL(request.url);
  const redirectTo = url.pathname + url.search;
  throw redirect(`/login?redirectTo=${encodeURIComponent(redirectTo)}`, {
    headers: { "Set-Cookie": clearCookie(STAFF_SESSION_COOKIE) },
  });
}

export async function requireStaff(request: Request, context: AppLoadContext): Promise<StaffAuth> {
  const auth = await context.auth.staff();
  if (!auth) {
    // Password done, code not yet given: back to the code step, keeping the session cookie.
    if (await loadPendingStaffSession(context.db, request)) {
      const url = new URL(request.url);
      throw redirect(`/login/2fa?redirectTo=${encodeURIComponent(url.pathname + url.search)}`);
    }
    signInRedirect(request);
  }
  // The firm requires 2FA for staff: someone without it (no app, no passkey) sets it up before anything else.
  if (auth.firm.staffTwoFactorRequired && !auth.staff.totpEnabledAt && auth.passkeys === 0) {
    const path = new URL(request.url).pathname;
    if (!STAFF_ENROLMENT_PATHS.includes(path)) throw redirect("/app/account/two-factor");
  }
  return auth;
}

/**
 * A staff page whose data comes in the same D1 round trip as its session (issue 14). `load` gets the firm
 * and the staff member as SQL naming the session's (`ofSession`), and the session's id (a statement names
 * them itself from it), and must start its reads through `context.read` before
 * its first await. What it read is used only after `guard` has accepted the session: for a bad cookie the
 * rows are dropped with the request, and the guard's redirect or 403 is the answer.
 */
export async function staffPage<T>(
  request: Request,
  context: AppLoadContext,
  load: (firm: SQL, staff: SQL, sessionId: string) => Promise<T>,
  guard: (request: Request, context: AppLoadContext) => Promise<StaffAuth> = requireStaff,
): Promise<StaffAuth & { data: T }> {
  const parts = tokenParts(readCookie(request, STAFF_SESSION_COOKIE));
  const data = parts ? load(ofSession(parts.id, sessions.firmId), ofSession(parts.id, sessions.staffUserId), parts.id) : null;
  // The guard's answer comes first; a failed read is not left unhandled while it is awaited.
  data?.catch(() => undefined);
  const auth = await guard(request, context);
  // Without a session cookie the guard has already thrown.
  return { ...auth, data: await data! };
}

/** Where a staff member who must set up 2FA may go: the set-up page and what it needs. */
const STAFF_ENROLMENT_PATHS = ["/app/account", "/app/account/two-factor", "/app/account/passkey", "/app/reauthenticate"];

export async function requireAdmin(request: Request, context: AppLoadContext): Promise<StaffAuth> {
  const auth = await requireStaff(request, context);
  if (auth.staff.role !== "admin") {
    throw new Response("Only firm admins can do this.", { status: 403 });
  }
  return auth;
}

export function hasRecentAuth(session: Session, now = Date.now()): boolean {
  const last = Math.max(session.reauthenticatedAt ?? 0, session.createdAt);
  return now - last <= REAUTH_WINDOW_MS;
}

/** Sends the staff member to confirm their password, then back to where they were. */
export function requireRecentAuth(auth: StaffAuth, request: Request, returnTo?: string): void {
  if (hasRecentAuth(auth.session)) return;
  const url = new URL(request.url);
  const back = returnTo ?? url.pathname + url.search;
  throw redirect(`/app/reauthenticate?redirectTo=${encodeURIComponent(back)}`);
}

export type SignInResult = Result<{ token: string; staff: StaffUser; needsSecondFactor: boolean }>;

const GENERIC_ERROR = "The email or password is incorrect.";
const THROTTLED_ERROR = "Too many failed sign-ins from your network. Wait 15 minutes and try again.";
const CEILING_ERROR = "Too many failed sign-ins to this account. Wait an hour and try again.";

// SECURITY.md "failed password sign-ins"; numbers in docs/decisions/007-password-sign-in-throttling.md.
function staffAttempt(email: string, ip: string): PasswordAttempt {
  return { account: `staff:${email.trim().toLowerCase()}`, ip };
}

/** Whether this staff member completed a sign-in from the IP's place (address or IPv6 /64) recently. */
async function staffSignedInFrom(db: Database, staff: StaffUser, ip: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .selectDistinct({ ip: auditEvents.ip })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.firmId, staff.firmId),
        eq(auditEvents.type, "staff.signed_in"),
        eq(auditEvents.actorId, staff.id),
        gt(auditEvents.at, now - KNOWN_PLACE_MS),
      ),
    )
    .limit(200);
  return samePlace(rows.map((r) => r.ip), ip);
}

export async function signInStaff(
  db: Database,
  input: { email: string; password: string } & RequestMeta,
): Promise<SignInResult> {
  const email = input.email.trim().toLowerCase();
  const attempt = staffAttempt(email, input.ip);
  const throttle = await passwordThrottleState(db, attempt);
  if (throttle === "throttled") return { ok: false, status: 429, error: THROTTLED_ERROR };
  const [found] = await db
    .select({ staff: staffUsers, firm: firms, passkeys: staffPasskeyCount(staffUsers.id) })
    .from(staffUsers)
    .innerJoin(firms, eq(firms.id, staffUsers.firmId))
    .where(eq(staffUsers.email, email))
    .limit(1);
  const staff = found?.staff;
  // At the account's ceiling only a place this staff member has signed in from before may still try.
  if (throttle === "account_ceiling" && !(staff && (await staffSignedInFrom(db, staff, input.ip)))) {
    return { ok: false, status: 429, error: CEILING_ERROR };
  }
  const check = await verifyPassword(staff?.passwordHash ?? DUMMY_PASSWORD_HASH, input.password);
  if (!staff || !check.valid || staff.deactivatedAt) {
    await countPasswordFailure(db, attempt);
    if (staff) {
      await auditEvent(db, {
        firmId: staff.firmId,
        type: "staff.sign_in_failed",
        actor: { type: "staff", id: staff.id, label: staff.email },
        ip: input.ip,
        userAgent: input.userAgent,
      });
    }
    return { ok: false, status: 401, error: GENERIC_ERROR };
  }
  const now = Date.now();
  const issued = await issueSession(db, {
    kind: "staff",
    firmId: staff.firmId,
    staffUserId: staff.id,
    reauthenticatedAt: now,
    ip: input.ip,
    userAgent: input.userAgent,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
  });
  const statements = [
    issued.insert,
    auditEvent(db, {
      firmId: staff.firmId,
      type: "staff.signed_in",
      actor: { type: "staff", id: staff.id, label: staff.email },
      ip: input.ip,
      userAgent: input.userAgent,
    }),
  ];
  if (check.needsRehash) {
    statements.push(db.update(staffUsers).set({ passwordHash: await hashPassword(input.password) }).where(eq(staffUsers.id, staff.id)));
  }
  await runBatch(db, statements);
  return { ok: true, token: issued.token, staff, needsSecondFactor: needsStaffSecondFactor(found) };
}

/** Confirms the password of a signed-in staff member and rotates the session token. */
export async function reauthenticateStaff(
  db: Database,
  auth: StaffAuth,
  password: string,
  ip: string,
): Promise<Result<{ token: string }>> {
  // The same counters as sign-in: a stolen session cannot guess the password faster than /login.
  const attempt = staffAttempt(auth.staff.email, ip);
  const throttle = await passwordThrottleState(db, attempt);
  if (throttle === "throttled" || (throttle === "account_ceiling" && !(await staffSignedInFrom(db, auth.staff, ip)))) {
    return { ok: false, status: 429, error: throttle === "throttled" ? THROTTLED_ERROR : CEILING_ERROR };
  }
  const check = await verifyPassword(auth.staff.passwordHash, password);
  if (!check.valid) {
    await countPasswordFailure(db, attempt);
    return { ok: false, status: 401, error: "That password is incorrect." };
  }
  const now = Date.now();
  const rotated = await rotateSession(db, auth.session, { reauthenticatedAt: now }, now);
  await runBatch(db, [
    ...rotated.statements,
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "staff.reauthenticated",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      ip,
    }),
  ]);
  return { ok: true, token: rotated.token };
}

export function staffSessionCookie(token: string): string {
  return setCookie(STAFF_SESSION_COOKIE, token, ABSOLUTE_TIMEOUT_MS / 1000);
}

export async function signOutStaff(db: Database, request: Request): Promise<string> {
  // Any valid session of this cookie, pending 2FA or not; a cookie with a wrong secret deletes nothing.
  const row = await loadStaffSession(db, createReader(db), request, Date.now());
  if (row) await deleteSession(db, row.session.id);
  return clearCookie(STAFF_SESSION_COOKIE);
}
