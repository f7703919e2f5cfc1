// Client portal sessions, and the one question every portal route asks: what may this client see now?
// `portalAccess` answers it through the portal policy (portal-policy.server.ts), which knows the firm's
// security mode, the session kind, the account's 2FA state and the contact's standing; no route
// re-derives any of it.
import type { AppLoadContext } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { contacts, firms, portalAccounts, sessions } from "../../../db/schema";
import { PORTAL_SESSION_COOKIE, clearCookie, readCookie, setCookie } from "../cookies.server";
import type { Database } from "../db.server";
import { CLIENT_SESSION_KINDS, decideAccess, type PortalAccess, type PortalScope } from "./portal-policy.server";
import { checkSession, deleteSession, ofSession, tokenParts, touchSession } from "../auth/sessions.server";
import { accountPasskeyCount } from "../auth/passkey-owners.server";
import { createReader, type Read } from "../read-batch.server";
import { statement } from "../statements.server";
import type { Session } from "../types";
import type { Contact, Firm, PortalAccount } from "../types";

/** `passkeys`: how many passkeys the account has (the policy needs it: a passkey is a second factor). */
export type PortalAuth = { session: Session; firm: Firm; contact: Contact; account: PortalAccount | null; passkeys: number };

/**
 * The client session of the cookie with its firm, contact and (if any) portal account: single-table reads
 * that go out in the request's batch with the page's own queries (read-batch.server.ts; a join would return
 * same-named columns a D1 batch cannot tell apart).
 */
/** Built once per isolate (statements.server.ts): every portal page view reads them. */
const clientSession = {
  session: statement(["sessionId"], (db, p) =>
    db.select().from(sessions).where(and(eq(sessions.id, p.sessionId), inArray(sessions.kind, CLIENT_SESSION_KINDS))).limit(1),
  ),
  firm: statement(["sessionId"], (db, p) => db.select().from(firms).where(eq(firms.id, ofSession(p.sessionId, sessions.firmId))).limit(1)),
  contact: statement(["sessionId"], (db, p) =>
    db
      .select()
      .from(contacts)
      .where(and(eq(contacts.id, ofSession(p.sessionId, sessions.contactId)), eq(contacts.firmId, ofSession(p.sessionId, sessions.firmId))))
      .limit(1),
  ),
  account: statement(["sessionId"], (db, p) =>
    db
      .select({ account: portalAccounts, passkeys: accountPasskeyCount(sql`"portal_accounts"."id"`).as("passkeys") })
      .from(portalAccounts)
      .where(eq(portalAccounts.contactId, ofSession(p.sessionId, sessions.contactId)))
      .limit(1),
  ),
};

export async function loadPortalAuth(db: Database, request: Request, now = Date.now(), read: Read = createReader(db)): Promise<PortalAuth | null> {
  const parts = tokenParts(readCookie(request, PORTAL_SESSION_COOKIE));
  if (!parts) return null;
  const ids = { sessionId: parts.id };
  const [[session], [firm], [contact], [accountRow]] = await Promise.all([
    read(clientSession.session(ids)),
    read(clientSession.firm(ids)),
    read(clientSession.contact(ids)),
    read(clientSession.account(ids)),
  ]);
  const state = await checkSession(session, parts.secret, now);
  if (state !== "valid") {
    if (session && state !== "invalid") await deleteSession(db, session.id);
    return null;
  }
  if (!firm || !contact) return null;
  await touchSession(db, session, now);
  return { session, firm, contact, account: accountRow?.account ?? null, passkeys: accountRow?.passkeys ?? 0 };
}

/**
 * The session's id, and its firm, contact and login as SQL naming the session's. Each is built when a page
 * reads it: most pages' statements name them from the id alone, and building the SQL was a few percent of
 * a light page's CPU.
 */
function sessionRefs(id: string): { id: string; firm: SQL; contact: SQL; account: SQL } {
  let firm: SQL | undefined;
  let contact: SQL | undefined;
  let account: SQL | undefined;
  return {
    id,
    get firm() {
      return (firm ??= ofSession(id, sessions.firmId));
    },
    get contact() {
      return (contact ??= ofSession(id, sessions.contactId));
    },
    get account() {
      return (account ??= sql`(SELECT "pa"."id" FROM ${portalAccounts} AS "pa" WHERE "pa"."contact_id" = ${this.contact})`);
    },
  };
}

/**
 * A portal page whose data comes in the same D1 round trip as the client's session (issue 14). `load`
 * gets the session's id, and the firm and contact as SQL naming the session's (`ofSession`; a statement
 * names them itself from the id), and must start its reads through
 * `context.read` before its first await. What it read is used only once `portalAccess` has granted this
 * firm's portal at `scope`; otherwise the client is sent where they belong and the rows are dropped.
 */
export async function portalPage<T>(
  request: Request,
  context: AppLoadContext,
  firmSlug: string,
  load: (session: { id: string; firm: SQL; contact: SQL; account: SQL }) => Promise<T>,
  scope: PortalScope = "requests",
): Promise<{ auth: PortalAuth; contactId: string; data: T }> {
  const parts = tokenParts(readCookie(request, PORTAL_SESSION_COOKIE));
  const data = parts ? load(sessionRefs(parts.id)) : null;
  data?.catch(() => undefined);
  const granted = await requirePortalAccess(request, context, firmSlug, scope);
  return { ...granted, data: await data! };
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

const firmBySlug = statement(["slug"], (db, p) => db.select().from(firms).where(eq(firms.slug, p.slug)).limit(1));

/** With the request's `read`, the lookup joins the loaders' batch (the layout and the page both ask). */
export async function findFirmBySlug(db: Database, slug: string | undefined, read: Read = createReader(db)): Promise<Firm | null> {
  if (!slug || slug.length > 64) return null;
  const [firm] = await read(firmBySlug({ slug }));
  return firm ?? null;
}

/** Loads the firm of a portal URL, or answers 404. */
export async function requirePortalFirm(db: Database, slug: string | undefined, read: Read = createReader(db)): Promise<Firm> {
  const firm = await findFirmBySlug(db, slug, read);
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
