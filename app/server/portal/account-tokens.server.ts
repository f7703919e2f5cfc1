// One-time account tokens (signup, password reset): minted, peeked at and consumed; and the helpers the
// portal account flows share. The answers to anything that takes a typed email are the same whether or not
// it belongs to anyone, and the work that differs runs after the response (ctx.waitUntil).
import { and, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { accountTokens, contacts, portalAccounts, type AccountTokenKind } from "../../../db/schema";
import { type SignInMeta } from "../auth/devices.server";
import { generateToken, sha256Hex } from "../crypto.server";
import { type Database, type Statement } from "../db.server";
import type { Contact, Firm } from "../types";
import { LIMITS, consume } from "../rate-limit.server";

export const ACCOUNT_TOKEN_VALIDITY_MS = 60 * 60_000;

export type Meta = SignInMeta;

export async function findContactByEmail(db: Database, firmId: string, email: string) {
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

export function portalUrl(env: Env, firm: Firm, path: string): string {
  return `${env.APP_URL.replace(/\/$/, "")}/portal/${firm.slug}${path}`;
}

// ---------------------------------------------------------------------------------------------
// One-hour, single-use tokens: email verification and password reset

export async function accountToken(
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
export async function consumeAccountToken(db: Database, firmId: string, kind: AccountTokenKind, token: string, now = Date.now()) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await db
    .update(accountTokens)
    .set({ usedAt: now })
    .where(await usableToken(firmId, kind, token, now))
    .returning();
  return row ?? null;
}
