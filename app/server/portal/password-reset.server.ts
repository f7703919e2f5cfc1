// Forgotten passwords: the reset email (only where the address has a login) and the reset itself.
import { and, eq } from "drizzle-orm";
import { auditEvents, contacts, outbox, portalAccounts, sessions } from "../../../db/schema";
import { auditRow } from "../audit.server";
import { insertWhere, runBatch, type Database } from "../db.server";
import { passwordResetEmail, securityNoticeEmail } from "../emails.server";
import { deliverSoon } from "../outbox-delivery.server";
import { outboxRow, queueEmail, sealEmail } from "../outbox.server";
import { hashPassword } from "../auth/passwords.server";
import type { Firm } from "../types";
import { passwordRefusal, passwordsAllowed, secondFactorApplies } from "./portal-policy.server";
import { refuse } from "../result";
import { ABSOLUTE_TIMEOUT_MS, credentialsUnchanged, deleteContactSessions, issueSession, voidMailedCredentials } from "../auth/sessions.server";
import { type Meta, accountToken, consumeAccountToken, findContactByEmail, peekAccountToken, portalUrl } from "./account-tokens.server";
import { type AccountCreation, LINK_INVALID, LINK_USED } from "./signup.server";
import { accountPasskeyCount } from "../auth/passkey-owners.server";

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
    .select({ account: portalAccounts, contact: contacts, passkeys: accountPasskeyCount(portalAccounts.id) })
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
  return { ok: true, token: issued.token, auth: { session: issued.session, firm, contact: row.contact, account: { ...row.account, passwordHash }, passkeys: row.passkeys } };
}
