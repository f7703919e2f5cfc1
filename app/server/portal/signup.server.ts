// Creating a client login: from a link session, or by an emailed signup token that proves the address.
import { and, eq, type SQL } from "drizzle-orm";
import { auditEvents, contacts, portalAccounts, sessions } from "../../../db/schema";
import { auditRow } from "../audit.server";
import { generateId } from "../crypto.server";
import { insertWhere, runBatch, type Database } from "../db.server";
import { accountExistsEmail, verifyEmailEmail } from "../emails.server";
import { deliverSoon } from "../outbox-delivery.server";
import { queueEmail, sealEmail } from "../outbox.server";
import { hashPassword } from "../auth/passwords.server";
import type { Contact, Firm, PortalAccount } from "../types";
import type { PortalAuth } from "./portal-auth.server";
import { passwordRefusal, passwordsAllowed } from "./portal-policy.server";
import { refuse, type Result } from "../result";
import { ABSOLUTE_TIMEOUT_MS, credentialsUnchanged, deleteContactSessions, issueSession } from "../auth/sessions.server";
import { type Meta, accountToken, consumeAccountToken, findContactByEmail, portalUrl } from "./account-tokens.server";

// ---------------------------------------------------------------------------------------------
// Creating a login

/**
 * From the firm's portal page: emails a verification link if the address is a contact's (or a reset link
 * if they already have a login). Nothing where the firm has turned passwords off.
 */
export function requestSignupByEmail(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, email: string): void {
  if (!passwordsAllowed(firm)) return;
  ctx.waitUntil(
    (async () => {
      const found = await findContactByEmail(db, firm.id, email);
      if (!found) return;
      const { contact, account } = found;
      if (account) {
        const reset = await accountToken(db, { kind: "password_reset", firmId: firm.id, contact, accountId: account.id, email });
        const resetUrl = portalUrl(env, firm, `/forgot-password?token=${reset.token}`);
        await runBatch(db, [reset.insert, queueEmail(db, await sealEmail(env, accountExistsEmail({ firm, contact, resetUrl })))]);
      } else {
        const verify = await accountToken(db, { kind: "email_verification", firmId: firm.id, contact, accountId: null, email });
        const url = portalUrl(env, firm, `/signup?token=${verify.token}`);
        await runBatch(db, [verify.insert, queueEmail(db, await sealEmail(env, verifyEmailEmail({ firm, contact, url })))]);
      }
      deliverSoon(env, ctx, db);
    })().catch((error) => console.error("requestSignupByEmail failed", error)),
  );
}

export type AccountCreation = Result<{ token: string; auth: PortalAuth }>;

export const LINK_USED = "This link has expired or was already used. Ask for a new one.";
export const LINK_INVALID = "This link is no longer valid.";
export const OPEN_LINK_FIRST = "Open your portal link first.";

async function createAccount(
  db: Database,
  firm: Firm,
  contact: Contact,
  password: string,
  meta: Meta,
  /** Write nothing unless this holds when the batch runs (a verification token's epoch still current). */
  onlyIf?: SQL,
): Promise<AccountCreation> {
  const existing = await db.query.portalAccounts.findFirst({ where: eq(portalAccounts.contactId, contact.id) });
  const now = Date.now();
  if (existing && !existing.deactivatedAt && existing.passwordHash) {
    return refuse(400, "You already have a login. Sign in, or use “Forgot password?”.");
  }
  const accountId = existing?.id ?? generateId();
  const passwordHash = await hashPassword(password);
  const account: PortalAccount = {
    ...(existing ?? {
      id: accountId,
      firmId: firm.id,
      contactId: contact.id,
      totpSecret: null,
      totpEnabledAt: null,
      totpLastStep: null,
      totpFailures: 0,
      totpLockedUntil: null,
      deactivatedAt: null,
      createdAt: now,
    }),
    email: contact.email,
    passwordHash,
    passwordChangedAt: now,
    lastSignInAt: now,
  };
  const issued = await issueSession(db, {
    kind: "client_password",
    firmId: firm.id,
    portalAccountId: accountId,
    contactId: contact.id,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  const newAccount = { id: accountId, firmId: firm.id, contactId: contact.id, email: contact.email, passwordHash, passwordChangedAt: now, lastSignInAt: now };
  const audit = auditRow({
    firmId: firm.id,
    type: "client.account_created",
    actor: { type: "client", id: contact.id, label: contact.email },
    contactId: contact.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
    at: now,
  });
  await runBatch(db, [
    existing
      ? db
          .update(portalAccounts)
          .set({ passwordHash, email: contact.email, passwordChangedAt: now, lastSignInAt: now })
          .where(and(eq(portalAccounts.id, accountId), onlyIf))
      : onlyIf
        ? insertWhere(db, portalAccounts, newAccount, onlyIf)
        : db.insert(portalAccounts).values(newAccount),
    // Any link session of this browser is replaced by the password session.
    deleteContactSessions(db, contact.id, undefined, onlyIf),
    onlyIf ? insertWhere(db, sessions, issued.session, onlyIf) : issued.insert,
    onlyIf ? insertWhere(db, auditEvents, audit, onlyIf) : db.insert(auditEvents).values(audit),
  ]);
  if (onlyIf && !(await sessionWritten(db, issued.session.id))) return refuse(400, LINK_INVALID);
  return { ok: true, token: issued.token, auth: { session: issued.session, firm, contact, account, passkeys: 0 } };
}

async function sessionWritten(db: Database, sessionId: string): Promise<boolean> {
  const [row] = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, sessionId)).limit(1);
  return row !== undefined;
}

/** "Create a login" from a link session: the login email is the contact's address on file. */
export async function createAccountFromLinkSession(db: Database, auth: PortalAuth, password: string, meta: Meta): Promise<AccountCreation> {
  const refused = passwordRefusal(auth.firm, "sign_up");
  if (refused) return refuse(403, refused);
  if (auth.session.kind !== "client_link") return refuse(400, OPEN_LINK_FIRST);
  return createAccount(db, auth.firm, auth.contact, password, meta);
}

/** Completes a signup started by email: the token proves the address. */
export async function completeSignup(db: Database, firm: Firm, token: string, password: string, meta: Meta): Promise<AccountCreation> {
  const refused = passwordRefusal(firm, "sign_up");
  if (refused) return refuse(403, refused);
  const used = await consumeAccountToken(db, firm.id, "email_verification", token);
  if (!used) return refuse(400, LINK_USED);
  const contact = await db.query.contacts.findFirst({ where: and(eq(contacts.id, used.contactId), eq(contacts.firmId, firm.id)) });
  if (!contact || contact.deletedAt || contact.email !== used.email) return refuse(400, LINK_INVALID);
  // A revocation committed between the token's use and the account's creation voids the creation too.
  return createAccount(db, firm, contact, password, meta, credentialsUnchanged(contact.id, used.credentialEpoch));
}
