// Client sign-in with email and password, throttled per network and per account.
import { and, eq, gt } from "drizzle-orm";
import { auditEvents, contacts, portalAccounts } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { clientSignedIn } from "../auth/devices.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../auth/passwords.server";
import type { Firm } from "../types";
import type { PortalAuth } from "./portal-auth.server";
import { linksOpenRequests, passwordRefusal, secondFactorApplies } from "./portal-policy.server";
import { KNOWN_PLACE_MS, countPasswordFailure, passwordThrottleState, samePlace, type PasswordAttempt } from "../rate-limit.server";
import { type Result } from "../result";
import { ABSOLUTE_TIMEOUT_MS, issueSession } from "../auth/sessions.server";
import type { Meta } from "./account-tokens.server";
import { accountPasskeyCount } from "../auth/passkey-owners.server";

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
    .select({ account: portalAccounts, contact: contacts, passkeys: accountPasskeyCount(portalAccounts.id) })
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
  const auth: PortalAuth = { session: issued.session, firm, contact, account, passkeys: row.passkeys };
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
