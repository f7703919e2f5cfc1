// Recent authentication for a client's sensitive account changes (adding or removing a passkey): the
// client signed in, or confirmed who they are, within the last 10 minutes (the staff rule, SECURITY.md
// parameters). Confirming takes the password, and the code where the account has an authenticator app,
// or a passkey with user verification (client-passkeys.server.ts).
import { auditEvent } from "../audit.server";
import { runBatch, type Database } from "../db.server";
import { verifyPassword } from "../auth/passwords.server";
import { factorRefusal, verifyTotpAttempt } from "../auth/second-factor.server";
import { rotateSession } from "../auth/sessions.server";
import { countPasswordFailure, passwordThrottleState } from "../rate-limit.server";
import type { RequestMeta } from "../request-meta.server";
import { refuse, type Result } from "../result";
import type { Session } from "../types";
import type { PortalAuth } from "./portal-auth.server";

export const CLIENT_REAUTH_WINDOW_MS = 10 * 60_000;

export function clientRecentlyAuthenticated(session: Session, now = Date.now()): boolean {
  const last = Math.max(session.createdAt, session.reauthenticatedAt ?? 0, session.twoFactorVerifiedAt ?? 0);
  return now - last <= CLIENT_REAUTH_WINDOW_MS;
}

export const REAUTH_NEEDED = "For your security, confirm it is you first.";

/** Confirms the password (and the code where the account has an app) and rotates the session token. */
export async function reauthenticateClient(
  db: Database,
  env: Env,
  auth: PortalAuth,
  input: { password: string; code?: string },
  meta: RequestMeta,
  now = Date.now(),
): Promise<Result<{ token: string; auth: PortalAuth }>> {
  const account = auth.account;
  if (!account?.passwordHash) return refuse(403, "Sign in again to confirm it is you.");
  // The sign-in counters: a stolen session cannot guess the password faster than the sign-in page.
  const attempt = { account: `client:${auth.firm.id}:${account.email}`, ip: meta.ip };
  if ((await passwordThrottleState(db, attempt)) !== "open") return refuse(429, "Too many failed attempts. Wait 15 minutes and try again.");
  const check = await verifyPassword(account.passwordHash, input.password);
  if (!check.valid) {
    await countPasswordFailure(db, attempt);
    return refuse(401, "That password is incorrect.", { password: "That password is incorrect." });
  }
  if (account.totpEnabledAt) {
    if (!input.code) return refuse(422, "Enter the code from your authenticator app.", { code: "Enter the 6-digit code from your app." });
    const result = await verifyTotpAttempt(db, env, { kind: "portal", id: account.id, firmId: auth.firm.id }, input.code, now);
    if (!result.ok) return factorRefusal(result);
  }
  return confirmClientIdentity(db, auth, { method: "password" }, meta, now);
}

/** Records a successful confirmation: a new token, and the time for `clientRecentlyAuthenticated`. */
export async function confirmClientIdentity(
  db: Database,
  auth: PortalAuth,
  detail: Record<string, unknown>,
  meta: RequestMeta,
  now = Date.now(),
): Promise<{ ok: true; token: string; auth: PortalAuth }> {
  const rotated = await rotateSession(db, auth.session, { reauthenticatedAt: now }, now);
  await runBatch(db, [
    ...rotated.statements,
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "client.reauthenticated",
      actor: { type: "client", id: auth.contact.id, label: auth.account?.email ?? auth.contact.email },
      contactId: auth.contact.id,
      detail,
      ...meta,
      at: now,
    }),
  ]);
  return { ok: true, token: rotated.token, auth: { ...auth, session: rotated.session } };
}
