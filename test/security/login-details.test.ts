// Edit login details: SECURITY.md rules 18, 19, 20, 21 and 27.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, contacts, portalAccounts, recoveryCodes, sessions } from "../../db/schema";
import {
  clientBrowser,
  createContact,
  createFirm,
  createPortalAccount,
  createStaff,
  db,
  PASSWORD,
  type TestFirm,
} from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { enableTotp, portalOwner } from "../support/two-factor";
import { claim, emailsTo, issueLink } from "../support/portal";

async function scenario(options: { firm?: TestFirm; twoFactor?: boolean } = {}) {
  const firm = options.firm ?? (await createFirm());
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  if (options.twoFactor) {
    await enableTotp(portalOwner(account));
    await db.insert(recoveryCodes).values({ id: crypto.randomUUID(), portalAccountId: account.id, codeHash: "h" });
  }
  const client = await clientBrowser(account, { twoFactor: options.twoFactor });
  const admin = await createStaff(firm, { role: "admin" });
  const staff = await signInStaff(admin.email, PASSWORD);
  return { firm, contact, account, client, staff, path: `/app/contacts/${contact.id}/login-details`, base: `/portal/${firm.slug}` };
}

describe("rule 19: deactivating a client's 2FA", () => {
  it("deletes the secret and recovery codes, ends every session, is logged with the reason and emailed; no secret is shown", async () => {
    const { contact, account, client, staff, path, base } = await scenario({ twoFactor: true });
    const replay = new Browser();
    replay.cookies.set("__Host-portal_session", client.cookies.get("__Host-portal_session")!);
    expect((await client.fetch(`${base}/requests`)).status).toBe(200);

    const pageResponse = await staff.fetch(path);
    const page = await pageResponse.text();
    expect(pageResponse.status, page.slice(0, 2000)).toBe(200);
    const [before] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(page).not.toContain(before.totpSecret!);
    expect(page).toContain("Deactivate two-factor authentication");

    const since = Date.now();
    const response = await staff.post(path, { intent: "deactivate-2fa", reason: "Client lost their phone", confirm: "yes" });
    expect(response.status).toBe(200);
    const [after] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(after.totpSecret).toBeNull();
    expect(after.totpEnabledAt).toBeNull();
    expect(await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id))).toHaveLength(0);
    expect(await db.select().from(sessions).where(eq(sessions.contactId, contact.id))).toHaveLength(0);
    for (const browser of [client, replay]) expect((await browser.fetch(`${base}/requests`)).status).toBe(302);
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.type, "client.two_factor_reset"));
    expect(JSON.parse(event.detail!)).toEqual({ reason: "Client lost their phone" });
    const [email] = await emailsTo(contact.email, since);
    expect(email.subject).toContain("two-factor authentication was reset");
    expect(await response.text()).not.toContain(before.totpSecret!);
  });

  it("in 2FA mode the next sign-in goes to enrolment", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const { contact, staff, path, base } = await scenario({ firm, twoFactor: true });
    await staff.post(path, { intent: "deactivate-2fa", reason: "Lost phone", confirm: "yes" });
    const signIn = await new Browser().post(`${base}/login`, { email: contact.email, password: PASSWORD });
    expect(signIn.headers.get("location")).toBe(`${base}/2fa/setup`);
  });

  it("asks for a reason and a confirmation, and changes nothing without them", async () => {
    const { account, staff, path } = await scenario({ twoFactor: true });
    for (const form of [{ intent: "deactivate-2fa", confirm: "yes" }, { intent: "deactivate-2fa", reason: "Lost phone" }] as Record<string, string>[]) {
      expect((await staff.post(path, form)).status).toBe(422);
    }
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).not.toBeNull();
  });
});

describe("rule 18: sensitive staff actions need fresh re-authentication", () => {
  it("with a 15-minute-old sign-in, Deactivate 2FA asks for the password first and changes nothing", async () => {
    const { account, staff, path } = await scenario({ twoFactor: true });
    const id = staff.cookies.get("__Host-staff_session")!.split(".")[0];
    const old = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: old, reauthenticatedAt: old }).where(eq(sessions.id, id));
    const page = await staff.fetch(path);
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`/app/reauthenticate?redirectTo=${encodeURIComponent(path)}`);
    const post = await staff.post(path, { intent: "deactivate-2fa", reason: "Lost phone", confirm: "yes" });
    expect(post.status).toBe(302);
    expect(post.headers.get("location")).toMatch(/^\/app\/reauthenticate/);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).not.toBeNull();
  });
});

describe("rule 21: members cannot do admin actions", () => {
  it("a member gets 403 on every login-details action but sees the Client portal section", async () => {
    const { firm, contact, account, path } = await scenario({ twoFactor: true });
    const member = await createStaff(firm, { role: "member" });
    const browser = await signInStaff(member.email, PASSWORD);
    const details = await browser.fetch(`/app/contacts/${contact.id}`);
    expect(await details.text()).toContain("Client portal");
    expect((await browser.fetch(path)).status).toBe(403);
    for (const form of [
      { intent: "deactivate-2fa", reason: "x".repeat(10), confirm: "yes" },
      { intent: "change-email", email: "new@x.test", confirm: "yes" },
      { intent: "sign-out", confirm: "yes" },
      { intent: "revoke-links", confirm: "yes" },
    ] as Record<string, string>[]) {
      expect((await browser.post(path, form)).status).toBe(403);
    }
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).not.toBeNull();
    expect(row.email).toBe(contact.email);
  });
});

describe("rule 20: another firm's contact", () => {
  it("answers 404 on every login-details action and changes nothing", async () => {
    const victim = await scenario({ twoFactor: true });
    const otherFirm = await createFirm();
    const otherAdmin = await createStaff(otherFirm, { role: "admin" });
    const browser = await signInStaff(otherAdmin.email, PASSWORD);
    expect((await browser.fetch(victim.path)).status).toBe(404);
    expect((await browser.fetch(`/app/contacts/${victim.contact.id}`)).status).toBe(404);
    for (const form of [
      { intent: "deactivate-2fa", reason: "x".repeat(10), confirm: "yes" },
      { intent: "change-email", email: "new@x.test", confirm: "yes" },
      { intent: "sign-out", confirm: "yes" },
      { intent: "revoke-links", confirm: "yes" },
    ] as Record<string, string>[]) {
      expect((await browser.post(victim.path, form)).status).toBe(404);
      expect((await browser.post(`/app/contacts/${victim.contact.id}`, { intent: "send-link" })).status).toBe(404);
    }
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, victim.account.id));
    expect(row.totpEnabledAt).not.toBeNull();
    expect((await victim.client.fetch(`${victim.base}/requests`)).status).toBe(200);
  });
});

describe("rule 27: revocation signs out other browsers and replayed cookies", () => {
  it("after a login email change: old cookies are dead; both addresses are told; the new email signs in", async () => {
    const { contact, client, staff, path, base } = await scenario();
    const since = Date.now();
    const response = await staff.post(path, { intent: "change-email", email: "moved@client.test", currentEmail: contact.email, confirm: "yes" });
    expect(response.status).toBe(200);
    expect((await client.fetch(`${base}/requests`)).status).toBe(302);
    const oldMail = await emailsTo(contact.email, since);
    const newMail = await emailsTo("moved@client.test", since);
    expect(oldMail[0].subject).toContain("login email was changed");
    expect(newMail[0].subject).toContain("login email was changed");
    const signIn = await new Browser().post(`${base}/login`, { email: "moved@client.test", password: PASSWORD });
    expect(signIn.headers.get("location")).toBe(`${base}/requests`);
    const [row] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(row.email).toBe("moved@client.test");
  });

  it("the new login email must not belong to another account of the firm", async () => {
    const { firm, contact, account, staff, path } = await scenario();
    const other = await createContact(firm);
    await createPortalAccount(firm, other);
    const response = await staff.post(path, { intent: "change-email", email: other.email, currentEmail: contact.email, confirm: "yes" });
    expect(response.status).toBe(409);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.email).not.toBe(other.email);
  });

  it("sign out of all devices ends password and link sessions", async () => {
    const { firm, contact, client, staff, path, base } = await scenario();
    const link = await claim(await issueLink(firm, contact));
    expect((await link.browser.fetch(`${base}/requests`)).status).toBe(200);
    expect((await staff.post(path, { intent: "sign-out", confirm: "yes" })).status).toBe(200);
    expect((await client.fetch(`${base}/requests`)).status).toBe(302);
    expect((await link.browser.fetch(`${base}/requests`)).status).toBe(302);
  });

  it("revoke access links: unclaimed links stop working and link sessions end", async () => {
    const { firm, contact, staff, path, base } = await scenario();
    const used = await claim(await issueLink(firm, contact));
    const unused = await issueLink(firm, contact);
    expect((await staff.post(path, { intent: "revoke-links", confirm: "yes" })).status).toBe(200);
    expect((await used.browser.fetch(`${base}/requests`)).status).toBe(302);
    expect((await claim(unused)).response.status).toBe(410);
  });
});
