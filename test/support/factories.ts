// Small factories: each test builds the data it needs, with unique names, in real D1.
import { env } from "cloudflare:workers";
import { contacts, firms, portalAccounts, staffUsers, type Plan, type SecurityMode } from "../../db/schema";
import { createDb } from "../../app/server/db.server";
import { hashPassword } from "../../app/server/auth/passwords.server";

export const db = createDb(env.DB);
export const PASSWORD = "correct-horse-battery-staple";

const hashes = new Map<string, Promise<string>>();
/** scrypt is deliberately slow; tests reuse one hash per password. */
export function passwordHash(password = PASSWORD): Promise<string> {
  let hash = hashes.get(password);
  if (!hash) hashes.set(password, (hash = hashPassword(password)));
  return hash;
}

export function uid(prefix = ""): string {
  return `${prefix}${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
}

export type TestFirm = typeof firms.$inferSelect;

export async function createFirm(options: { plan?: Plan; securityMode?: SecurityMode; name?: string } = {}): Promise<TestFirm> {
  const id = uid("firm_");
  const [firm] = await db
    .insert(firms)
    .values({
      id,
      name: options.name ?? `Firm ${id}`,
      slug: id.replace("firm_", "f-"),
      plan: options.plan ?? "business",
      securityMode: options.securityMode ?? "magic_link_and_login",
    })
    .returning();
  return firm;
}

export async function createStaff(firm: TestFirm, options: { role?: "admin" | "member"; password?: string } = {}) {
  const id = uid("staff_");
  const [staff] = await db
    .insert(staffUsers)
    .values({
      id,
      firmId: firm.id,
      email: `${id}@staff.test`,
      name: `Staff ${id}`,
      role: options.role ?? "admin",
      passwordHash: await passwordHash(options.password),
    })
    .returning();
  return staff;
}

export async function createContact(firm: TestFirm, options: { name?: string; email?: string } = {}) {
  const id = uid("contact_");
  const [contact] = await db
    .insert(contacts)
    .values({ id, firmId: firm.id, name: options.name ?? `Contact ${id}`, email: options.email ?? `${id}@client.test` })
    .returning();
  return contact;
}

export async function createPortalAccount(
  firm: TestFirm,
  contact: { id: string; email: string },
  options: { password?: string } = {},
) {
  const [account] = await db
    .insert(portalAccounts)
    .values({
      id: uid("account_"),
      firmId: firm.id,
      contactId: contact.id,
      email: contact.email,
      passwordHash: await passwordHash(options.password),
    })
    .returning();
  return account;
}

import { issueSession } from "../../app/server/auth/sessions.server";
import { Browser } from "./http";

/** A browser already signed in to the portal with a password session (and 2FA passed, if asked). */
export async function clientBrowser(
  account: { id: string; firmId: string; contactId: string },
  options: { twoFactor?: boolean; ip?: string } = {},
): Promise<Browser> {
  const { token, insert } = await issueSession(db, {
    kind: "client_password",
    firmId: account.firmId,
    portalAccountId: account.id,
    contactId: account.contactId,
    twoFactorVerifiedAt: options.twoFactor ? Date.now() : null,
  });
  await insert;
  const browser = new Browser(options.ip);
  browser.cookies.set("__Host-portal_session", token);
  return browser;
}
