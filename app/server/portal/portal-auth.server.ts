// Client portal sessions, and the one question every portal route asks: what may this client see now?
// `portalAccess` answers it through the portal policy (portal-policy.server.ts), which knows the firm's
// security mode, the session kind, the account's 2FA state and the contact's standing; no route
// re-derives any of it.
import type { AppLoadContext } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { and, eq, inArray } from "drizzle-orm";
import { contacts, firms, portalAccounts, sessions } from "../../../db/schema";
import { PORTAL_SESSION_COOKIE, clearCookie, readCookie, setCookie } from "../cookies.server";
import type { Database } from "../db.server";
import { CLIENT_SESSION_KINDS, decideAccess, type PortalAccess, type PortalScope } from "./portal-policy.server";
import { checkSession, deleteSession, tokenParts, touchSession } from "../auth/sessions.server";
import { accountPasskeyCount } from "../auth/passkey-owners.server";
import type { Session } from "../types";
import type { Contact, Firm, PortalAccount } from "../types";

/** `passkeys`: how many passkeys the account has (the policy needs it: a passkey is a second factor). */
export type PortalAuth = { session: Session; firm: Firm; contact: Contact; account: PortalAccount | null; passkeys: number };

/** One query: the client session with its firm, contact and (if any) portal account. */
export async function loadPortalAuth(db: Database, request: Request, now = Date.now()): Promise<PortalAuth | null> {
  const parts = tokenParts(readCookie(request, PORTAL_SESSION_COOKIE));
  if (!parts) return null;
  const [row] = await db
    .select({ session: sessions, firm: firms, contact: contacts, account: portalAccounts, passkeys: accountPasskeyCount(portalAccounts.id) })
    .from(sessions)
    .innerJoin(firms, eq(firms.id, sessions.firmId))
    .innerJoin(contacts, and(eq(contacts.id, sessions.contactId), eq(contacts.firmId, sessions.firmId)))
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(and(eq(sessions.id, parts.id), inArray(sessions.kind, CLIENT_SESSION_KINDS)))
    .limit(1);
  const state = await checkSession(row?.session, parts.secret, now);
  if (state !== "valid") {
    if (row && state !== "invalid") await deleteSession(db, row.session.id);
    return null;
  }
  await touchSession(db, row.session, now);
  return row;
}

export type { PortalAccess, PortalScope } from "./portal-policy.server";

/** What this client may see on this firm's portal now; the rules are the portal policy's (`decideAccess`). */
export function portalAccess(auth: PortalAuth | null, firmSlug: string, scope: PortalScope = "requests"): PortalAccess {
  if (!auth || auth.firm.slug !== firmSlug) return { status: "signed_out" };
  return decideAccess(auth, scope);
}

export function portalPath(firmSlug: string, path = ""): string {
  return `/portal/${encodeURIComponent(firmSlug)}${path}`;
}

/** Where a client in a given state belongs. */
export function pathForAccess(firmSlug: string, access: PortalAccess): string {
  switch (access.status) {
    case "signed_out":
      return portalPath(firmSlug);
    case "needs_sign_in":
      return portalPath(firmSlug, `/login?email=${encodeURIComponent(access.email)}`);
    case "needs_account":
      return portalPath(firmSlug, "/signup");
    case "needs_enrolment":
      return portalPath(firmSlug, "/2fa/setup");
    case "needs_code":
      return portalPath(firmSlug, "/2fa");
    case "granted":
    case "requests_only":
      return portalPath(firmSlug, "/requests");
  }
}

/** For pages that show a client's requests or account: granted for that scope, or sent where they belong. */
export async function requirePortalAccess(
  request: Request,
  context: AppLoadContext,
  firmSlug: string,
  scope: PortalScope = "requests",
): Promise<{ auth: PortalAuth; contactId: string }> {
  const auth = await context.auth.portal();
  const access = portalAccess(auth, firmSlug, scope);
  if (access.status === "granted" && auth) return { auth, contactId: access.contactId };
  const headers = new Headers();
  if (access.status === "signed_out" && auth === null && readCookie(request, PORTAL_SESSION_COOKIE)) {
    headers.append("Set-Cookie", clearCookie(PORTAL_SESSION_COOKIE));
  }
  throw redirect(pathForAccess(firmSlug, access), { headers });
}

export function portalSessionCookie(token: string, expiresAt: number, now = Date.now()): string {
  return setCookie(PORTAL_SESSION_COOKIE, token, (expiresAt - now) / 1000);
}

export async function signOutClient(db: Database, request: Request): Promise<string> {
  const parts = tokenParts(readCookie(request, PORTAL_SESSION_COOKIE));
  if (parts) {
    const row = await db.query.sessions.findFirst({ where: eq(sessions.id, parts.id) });
    if (row && (await checkSession(row, parts.secret, Date.now())) !== "invalid") await deleteSession(db, row.id);
  }
  return clearCookie(PORTAL_SESSION_COOKIE);
}

export async function findFirmBySlug(db: Database, slug: string | undefined): Promise<Firm | null> {
  if (!slug || slug.length > 64) return null;
  return (await db.query.firms.findFirst({ where: eq(firms.slug, slug) })) ?? null;
}

/** Loads the firm of a portal URL, or answers 404. */
export async function requirePortalFirm(db: Database, slug: string | undefined): Promise<Firm> {
  const firm = await findFirmBySlug(db, slug);
  if (!firm) throw new Response("Portal not found", { status: 404 });
  return firm;
}

/** After a sign-in step: set the new session cookie and send the client where they now belong. */
export function redirectIntoPortal(token: string, auth: PortalAuth, deviceCookie?: string | null): Response {
  const headers = new Headers({ "Set-Cookie": portalSessionCookie(token, auth.session.expiresAt) });
  if (deviceCookie) headers.append("Set-Cookie", deviceCookie);
  return redirect(pathForAccess(auth.firm.slug, portalAccess(auth, auth.firm.slug)), { headers });
}

/**
 * For the sign-in steps (/2fa, /2fa/setup, /recovery): the client must be in one of `allowed` states for
 * this firm; anyone else is sent where they belong.
 */
export async function requirePortalStep(
  context: AppLoadContext,
  firmSlug: string,
  allowed: Array<PortalAccess["status"]>,
): Promise<{ auth: PortalAuth; access: PortalAccess }> {
  const auth = await context.auth.portal();
  const access = portalAccess(auth, firmSlug);
  if (auth && allowed.includes(access.status)) return { auth, access };
  throw redirect(pathForAccess(firmSlug, access));
}

/** A signed-in client without 2FA may set it up from their account page (default mode). */
export function mayEnrolVoluntarily(auth: PortalAuth, access: PortalAccess): boolean {
  return access.status === "granted" && auth.session.kind !== "client_link" && auth.account !== null && !auth.account.totpEnabledAt;
}
