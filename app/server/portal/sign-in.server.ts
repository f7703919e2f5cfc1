// Client portal accounts: one per contact per firm. Sign-in, creating a login (from a link session
// or by a verified email), forgotten passwords, and asking for a fresh access link.
// The answers to anything that takes a typed email are the same whether or not it belongs to anyone,
// and the work that differs runs after the response (ctx.waitUntil), so timing does not tell either.
import { and, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { accountTokens, auditEvents, contacts, outbox, portalAccounts, sessions, type AccountTokenKind } from "../../../db/schema";
import { createAccessLink, publishLink } from "./access-links.server";
import { auditEvent, auditRow } from "../audit.server";
import { clientSignedIn, type SignInMeta } from "../auth/devices.server";
import { generateId, generateToken, sha256Hex } from "../crypto.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import { accountExistsEmail, passwordResetEmail, securityNoticeEmail, verifyEmailEmail } from "../emails.server";
import { deliverSoon, outboxRow, queueEmail, sealEmail } from "../outbox.server";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../auth/passwords.server";
import type { Contact, Firm, PortalAccount } from "../types";
import type { PortalAuth } from "./portal-auth.server";
import { linksOpenRequests, passwordRefusal, passwordsAllowed, secondFactorApplies } from "./portal-policy.server";
import {
  KNOWN_PLACE_MS,
  LIMITS,
  consume,
  countPasswordFailure,
  passwordThrottleState,
  samePlace,
  type PasswordAttempt,
} from "../rate-limit.server";
import { refuse, type Result } from "../result";
import { ABSOLUTE_TIMEOUT_MS, credentialsUnchanged, deleteContactSessions, issueSession, voidMailedCredentials } from "../auth/sessions.server";

export const ACCOUNT_TOKEN_VALIDITY_MS = 60 * 60_000;

type Meta = SignInMeta;

async function findContactByEmail(db: Database, firmId: string, email: string) {
  const [row] = await db
    .select({ contact: contacts, account: portalAccounts })
    .from(contacts)
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, contacts.id))
    .where(and(eq(contacts.firmId, firmId), eq(contacts.email, email), isNull(contacts.deletedAt)))
    .limit(1);
  return row ?? null;
}

/** Email-sending endpoints: 3 per 10 minutes per address and per IP. Counted for every address. */
export async function allowEmailSend(db: Database, address: string, ip: string): Promise<boolean> {
  const byAddress = await consume(db, LIMITS.emailPerAddress, address);
  const byIp = await consume(db, LIMITS.emailPerIp, ip);
  return byAddress && byIp;
}

function portalUrl(env: Env, firm: Firm, path: string): string {
  return `${env.APP_URL.replace(/\/$/, "")}/portal/${firm.slug}${path}`;
}

// ---------------------------------------------------------------------------------------------
// Access links requested by the client

/** Sends a fresh self-service link to a contact (15 minutes; voids their older unclaimed ones). */
export async function sendSelfServiceLink(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, contact: Contact, meta: Meta) {
  const link = await createAccessLink(db, env, { firm, contact, purpose: "self_service" });
  await runBatch(db, [
    ...link.statements,
    auditEvent(db, {
      firmId: firm.id,
      type: "access_link.sent",
      actor: { type: "client", id: contact.id, label: contact.email },
      contactId: contact.id,
      detail: { purpose: "self_service" },
      ip: meta.ip,
      userAgent: meta.userAgent,
    }),
  ]);
  await publishLink(env.LINKS, link.token, link.record);
  deliverSoon(env, ctx, db);
}

/** "Email me a link" with a typed address. Resolves the address after the response. */
export function requestLinkByEmail(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, email: string, meta: Meta): void {
  ctx.waitUntil(
    (async () => {
      const found = await findContactByEmail(db, firm.id, email);
      if (found) await sendSelfServiceLink(db, env, ctx, firm, found.contact, meta);
    })().catch((error) => console.error("requestLinkByEmail failed", error)),
  );
}

/** "Email me a new link" from a declined or expired link: to the address on file, nothing typed. */
export function requestLinkForRecord(db: Database, env: Env, ctx: ExecutionContext, record: { firmId: string; contactId: string }, meta: Meta): void {
  ctx.waitUntil(
    (async () => {
      const [row] = await db
        .select({ contact: contacts })
        .from(contacts)
        .where(and(eq(contacts.id, record.contactId), eq(contacts.firmId, record.firmId), isNull(contacts.deletedAt)))
        .limit(1);
      const firm = await db.query.firms.findFirst({ where: (f, { eq }) => eq(f.id, record.firmId) });
      if (row && firm) await sendSelfServiceLink(db, env, ctx, firm, row.contact, meta);
    })().catch((error) => console.error("requestLinkForRecord failed", error)),
  );
}

// ---------------------------------------------------------------------------------------------
// Sign-in

export type ClientSignIn = Result<{ token: string; auth: PortalAuth }>;

export const SIGN_IN_ERROR = "The email or password is incorrect.";
const SIGN_IN_THROTTLED = "Too many failed sign-ins from your network. Wait 15 minutes and try again.";
const SIGN_IN_CEILING = "Too many failed sign-ins to this account. Wait an hour and try again.";

/** Whether this contact completed a sign-in from the IP's place (address or IPv6 /64) recently. */
async function clientSignedInFrom(db: Database, contactId: string, ip: string, now = Date.now()): Promise<boolean> {
  const rows = await db
    .selectDistinct({ ip: auditEvents.ip })
    .from(auditEvents)
    .where(and(eq(auditEvents.contactId, contactId), eq(auditEvents.type, "client.signed_in"), gt(auditEvents.at, now - KNOWN_PLACE_MS)))
    .limit(200);
  return samePlace(rows.map((r) => r.ip), ip);
}

export async function signInClient(db: Database, firm: Firm, email: string, password: string, meta: Meta): Promise<ClientSignIn> {
  const refused = passwordRefusal(firm, "sign_in");
  if (refused) return { ok: false, status: 403, error: refused };
  // SECURITY.md "failed password sign-ins"; numbers in docs/decisions/007-password-sign-in-throttling.md.
  const attempt: PasswordAttempt = { account: `client:${firm.id}:${email}`, ip: meta.ip };
  const throttle = await passwordThrottleState(db, attempt);
  if (throttle === "throttled") return { ok: false, status: 429, error: SIGN_IN_THROTTLED };
  const [row] = await db
    .select({ account: portalAccounts, contact: contacts })
    .from(portalAccounts)
    .innerJoin(contacts, eq(contacts.id, portalAccounts.contactId))
    .where(and(eq(portalAccounts.firmId, firm.id), eq(portalAccounts.email, email)))
    .limit(1);
  // At the account's ceiling only a place this client has signed in from before may still try.
  if (throttle === "account_ceiling" && !(row && (await clientSignedInFrom(db, row.contact.id, meta.ip)))) {
    const orLink = linksOpenRequests(firm) ? " Or ask for an email link below." : "";
    return { ok: false, status: 429, error: SIGN_IN_CEILING + orLink };
  }
  const usable = row && !row.account.deactivatedAt && !row.contact.deletedAt && row.account.passwordHash;
  const check = await verifyPassword((usable && row.account.passwordHash) || DUMMY_PASSWORD_HASH, password);
  if (!usable || !check.valid) {
    await countPasswordFailure(db, attempt);
    if (row) {
      await auditEvent(db, {
        firmId: firm.id,
        type: "client.sign_in_failed",
        actor: { type: "client", id: row.contact.id, label: email },
        contactId: row.contact.id,
        ip: meta.ip,
        userAgent: meta.userAgent,
      });
    }
    return { ok: false, status: 401, error: SIGN_IN_ERROR };
  }
  const { account, contact } = row;
  const now = Date.now();
  const issued = await issueSession(db, {
    kind: "client_password",
    firmId: firm.id,
    portalAccountId: account.id,
    contactId: contact.id,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  const auth: PortalAuth = { session: issued.session, firm, contact, account };
  // Where 2FA applies the password is only the first step; the code step records the sign-in.
  const statements: Statement[] = [
    issued.insert,
    ...(secondFactorApplies(firm, account)
      ? [
          auditEvent(db, {
            firmId: firm.id,
            type: "client.password_accepted",
            actor: { type: "client", id: contact.id, label: email },
            contactId: contact.id,
            ip: meta.ip,
            userAgent: meta.userAgent,
          }),
        ]
      : await clientSignedIn(db, auth, meta, { factor: "password" }, now)),
  ];
  if (check.needsRehash) {
    statements.push(db.update(portalAccounts).set({ passwordHash: await hashPassword(password) }).where(eq(portalAccounts.id, account.id)));
  }
  await runBatch(db, statements);
  return { ok: true, token: issued.token, auth };
}

// ---------------------------------------------------------------------------------------------
// One-hour, single-use tokens: email verification and password reset

async function accountToken(
  db: Database,
  input: { kind: AccountTokenKind; firmId: string; contact: Contact; accountId: string | null; email: string },
  now = Date.now(),
): Promise<{ token: string; insert: Statement }> {
  const token = generateToken();
  return {
    token,
    insert: db.insert(accountTokens).values({
      tokenHash: await sha256Hex(token),
      kind: input.kind,
      firmId: input.firmId,
      contactId: input.contact.id,
      portalAccountId: input.accountId,
      email: input.email,
      // Void once the contact's next revoking action raises the epoch (docs/decisions/009).
      credentialEpoch: input.contact.credentialEpoch,
      expiresAt: now + ACCOUNT_TOKEN_VALIDITY_MS,
      createdAt: now,
    }),
  };
}

/**
 * The one rule for a usable token, shared by the page that shows its form and the POST that uses it:
 * unused, unexpired, mailed under the contact's current credential epoch, and mailed to the address that
 * is still the contact's (and, for a reset, the login's), whose contact and login are not deactivated.
 */
async function usableToken(firmId: string, kind: AccountTokenKind, token: string, now: number): Promise<SQL> {
  return and(
    eq(accountTokens.tokenHash, await sha256Hex(token)),
    eq(accountTokens.kind, kind),
    eq(accountTokens.firmId, firmId),
    isNull(accountTokens.usedAt),
    gt(accountTokens.expiresAt, now),
    sql`EXISTS (SELECT 1 FROM "contacts" AS c WHERE c.id = ${accountTokens.contactId} AND c.firm_id = ${accountTokens.firmId}
      AND c.deleted_at IS NULL AND c.email = ${accountTokens.email} AND c.credential_epoch = ${accountTokens.credentialEpoch})`,
    sql`(${accountTokens.portalAccountId} IS NULL OR EXISTS (SELECT 1 FROM "portal_accounts" AS a
      WHERE a.id = ${accountTokens.portalAccountId} AND a.deactivated_at IS NULL AND a.email = ${accountTokens.email}))`,
  )!;
}

/** Looks at a token without using it (GET shows the form; only the POST consumes). */
export async function peekAccountToken(db: Database, firmId: string, kind: AccountTokenKind, token: string, now = Date.now()) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const row = await db.query.accountTokens.findFirst({ where: await usableToken(firmId, kind, token, now) });
  return row ?? null;
}

/** Uses a token up; of concurrent attempts, exactly one succeeds. */
async function consumeAccountToken(db: Database, firmId: string, kind: AccountTokenKind, token: string, now = Date.now()) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await db
    .update(accountTokens)
    .set({ usedAt: now })
    .where(await usableToken(firmId, kind, token, now))
    .returning();
  return row ?? null;
}

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
const LINK_INVALID = "This link is no longer valid.";
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
  return { ok: true, token: issued.token, auth: { session: issued.session, firm, contact, account } };
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

// ---------------------------------------------------------------------------------------------
// Forgotten passwords

/** Emails a reset link if the address has a login. Nothing where the firm has turned passwords off. */
export function requestPasswordReset(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, email: string): void {
  if (!passwordsAllowed(firm)) return;
  ctx.waitUntil(
    (async () => {
      const found = await findContactByEmail(db, firm.id, email);
      if (!found?.account || found.account.deactivatedAt) return;
      const reset = await accountToken(db, {
        kind: "password_reset",
        firmId: firm.id,
        contact: found.contact,
        accountId: found.account.id,
        email,
      });
      const url = portalUrl(env, firm, `/forgot-password?token=${reset.token}`);
      await runBatch(db, [reset.insert, queueEmail(db, await sealEmail(env, passwordResetEmail({ firm, contact: found.contact, url })))]);
      deliverSoon(env, ctx, db);
    })().catch((error) => console.error("requestPasswordReset failed", error)),
  );
}

/** Whether the account behind a reset token has a second factor (it decides the minimum length). */
export async function resetTokenHasSecondFactor(db: Database, firm: Firm, token: string): Promise<boolean | null> {
  const found = await peekAccountToken(db, firm.id, "password_reset", token);
  if (!found?.portalAccountId) return null;
  const account = await db.query.portalAccounts.findFirst({ where: eq(portalAccounts.id, found.portalAccountId) });
  if (!account) return null;
  return secondFactorApplies(firm, account);
}

/**
 * Sets a new password, ends every session of the account, voids everything mailed before (other reset
 * links, access links, verification links) and signs this browser in with a session that has NOT passed
 * 2FA: a reset never skips the second factor.
 */
export async function resetPassword(db: Database, firm: Firm, token: string, password: string, meta: Meta): Promise<AccountCreation> {
  // Checked before the token is used: a link mailed before a switch to "Magic link only" stays unused.
  const refused = passwordRefusal(firm, "reset");
  if (refused) return refuse(403, refused);
  const used = await consumeAccountToken(db, firm.id, "password_reset", token);
  if (!used?.portalAccountId) return refuse(400, LINK_USED);
  const [row] = await db
    .select({ account: portalAccounts, contact: contacts })
    .from(portalAccounts)
    .innerJoin(contacts, eq(contacts.id, portalAccounts.contactId))
    .where(and(eq(portalAccounts.id, used.portalAccountId), eq(portalAccounts.firmId, firm.id)))
    .limit(1);
  if (!row || row.account.deactivatedAt || row.contact.deletedAt) return refuse(400, LINK_INVALID);
  const now = Date.now();
  const passwordHash = await hashPassword(password);
  const issued = await issueSession(db, {
    kind: "client_password",
    firmId: firm.id,
    portalAccountId: row.account.id,
    contactId: row.contact.id,
    expiresAt: now + ABSOLUTE_TIMEOUT_MS,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  // Every write is guarded by the epoch the token was mailed under, and the last one raises it: a
  // revoking action (an email change, say) that commits after the token's use and before this batch wins,
  // and the reset then changes nothing.
  const guard = credentialsUnchanged(row.contact.id, used.credentialEpoch);
  const results = await db.batch([
    db.update(portalAccounts).set({ passwordHash, passwordChangedAt: now }).where(and(eq(portalAccounts.id, row.account.id), guard)),
    deleteContactSessions(db, row.contact.id, undefined, guard),
    insertWhere(db, sessions, issued.session, guard),
    insertWhere(
      db,
      auditEvents,
      auditRow({
        firmId: firm.id,
        type: "client.password_reset",
        actor: { type: "client", id: row.contact.id, label: row.account.email },
        contactId: row.contact.id,
        ip: meta.ip,
        userAgent: meta.userAgent,
        at: now,
      }),
      guard,
    ),
    insertWhere(
      db,
      outbox,
      outboxRow(
        securityNoticeEmail({
          firm,
          to: row.account.email,
          name: row.contact.name,
          subject: "your password was changed",
          body: ["The password of your portal login was just changed, and every device was signed out."],
        }),
        now,
      ),
      guard,
    ),
    voidMailedCredentials(db, row.contact.id, used.credentialEpoch),
  ]);
  if (results[5].length !== 1) return refuse(400, LINK_INVALID);
  return { ok: true, token: issued.token, auth: { session: issued.session, firm, contact: row.contact, account: { ...row.account, passwordHash } } };
}
