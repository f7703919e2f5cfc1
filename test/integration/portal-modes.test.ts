// PRODUCT.md's mode table: each mode x each way in (magic link, password, sign-up, reset).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accountTokens, firms, outbox, portalAccounts, sessions, type SecurityMode } from "../../db/schema";
import { requestPasswordReset, resetPassword } from "~/server/portal/password-reset.server";
import { requestSignupByEmail } from "~/server/portal/signup.server";
import { createContact, createFirm, createPortalAccount, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";
import { claim, emailsTo, issueLink, urlTokenIn } from "../support/portal";

const NEW_PASSWORD = "a brand new passphrase 2026";

async function setup(mode: SecurityMode, { account = true } = {}) {
  const firm = await createFirm({ securityMode: mode });
  const contact = await createContact(firm);
  const portalAccount = account ? await createPortalAccount(firm, contact) : null;
  return { firm, contact, account: portalAccount, base: `/portal/${firm.slug}` };
}

function signIn(base: string, email: string, password = PASSWORD, browser = new Browser()) {
  return browser.post(`${base}/login`, { email, password }).then((response) => ({ browser, response }));
}

/** Email-sending endpoints are limited per IP: each request here comes from its own address. */
function freshIp(): string {
  const part = () => Math.floor(Math.random() * 0xffff).toString(16);
  return `2001:db8:${part()}:${part()}::1`;
}

async function resetLinkFor(base: string, email: string): Promise<string> {
  const since = Date.now();
  const response = await new Browser(freshIp()).post(`${base}/forgot-password`, { intent: "request", email });
  expect(response.status).toBe(200);
  const [message] = await emailsTo(email, since);
  return urlTokenIn(message.textBody);
}

describe("mode: Magic link + Login (default)", () => {
  const mode = "magic_link_and_login" as const;

  it("magic link opens the client's requests", async () => {
    const { firm, contact, base } = await setup(mode);
    const { response, browser } = await claim(await issueLink(firm, contact));
    expect(response.headers.get("location")).toBe(`${base}/requests`);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
  });

  it("password sign-in opens the client's requests", async () => {
    const { contact, base } = await setup(mode);
    const { response, browser } = await signIn(base, contact.email);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${base}/requests`);
    const page = await browser.fetch(`${base}/requests`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Your requests");
  });

  it("wrong password and unknown email get the same generic error", async () => {
    const { contact, base } = await setup(mode);
    const wrong = await signIn(base, contact.email, "wrong password entirely");
    const unknown = await signIn(base, "nobody@unknown.test", "wrong password entirely");
    expect(wrong.response.status).toBe(401);
    expect(unknown.response.status).toBe(401);
    expect(await wrong.response.text()).toContain("The email or password is incorrect.");
    expect(await unknown.response.text()).toContain("The email or password is incorrect.");
  });

  it("sign-up from a link session creates a login with the contact's email", async () => {
    const { firm, contact, base } = await setup(mode, { account: false });
    const { browser } = await claim(await issueLink(firm, contact, "invite"));
    const form = await browser.fetch(`${base}/signup`);
    expect(await form.text()).toContain(contact.email);
    const weak = await browser.post(`${base}/signup`, { intent: "from-link", password: "too short" });
    expect(weak.status).toBe(422);
    expect(await weak.text()).toContain("Use at least 15 characters.");
    const created = await browser.post(`${base}/signup`, { intent: "from-link", password: NEW_PASSWORD });
    expect(created.status).toBe(302);
    expect(created.headers.get("location")).toBe(`${base}/requests`);
    const [account] = await db.select().from(portalAccounts).where(eq(portalAccounts.contactId, contact.id));
    expect(account.email).toBe(contact.email);
    expect((await signIn(base, contact.email, NEW_PASSWORD)).response.headers.get("location")).toBe(`${base}/requests`);
  });

  it("sign-up by email sends a verification link; the link sets the password once", async () => {
    const { contact, base } = await setup(mode, { account: false });
    const since = Date.now();
    const asked = await new Browser().post(`${base}/signup`, { intent: "request", email: contact.email.toUpperCase() });
    expect(asked.status).toBe(200);
    const [message] = await emailsTo(contact.email, since);
    const token = urlTokenIn(message.textBody);
    const browser = new Browser();
    expect(await (await browser.fetch(`${base}/signup?token=${token}`)).text()).toContain(contact.email);
    const done = await browser.post(`${base}/signup`, { intent: "complete", token, password: NEW_PASSWORD });
    expect(done.headers.get("location")).toBe(`${base}/requests`);
    const again = await new Browser().post(`${base}/signup`, { intent: "complete", token, password: "another passphrase here" });
    expect(again.status).toBe(400);
  });

  it("password reset sets a new password, ends every other session and is single use", async () => {
    const { contact, base } = await setup(mode);
    const other = await signIn(base, contact.email);
    const token = await resetLinkFor(base, contact.email);
    const browser = new Browser();
    expect((await browser.fetch(`${base}/forgot-password?token=${token}`)).status).toBe(200);
    const reset = await browser.post(`${base}/forgot-password`, { intent: "reset", token, password: NEW_PASSWORD });
    expect(reset.headers.get("location")).toBe(`${base}/requests`);
    expect((await other.browser.fetch(`${base}/requests`)).status).toBe(302);
    expect((await signIn(base, contact.email)).response.status).toBe(401);
    expect((await signIn(base, contact.email, NEW_PASSWORD)).response.status).toBe(302);
    const replay = await new Browser().post(`${base}/forgot-password`, { intent: "reset", token, password: "yet another passphrase" });
    expect(replay.status).toBe(400);
    const mail = await emailsTo(contact.email, Date.now() - 5_000);
    expect(mail.map((m) => m.subject).some((s) => s.includes("password was changed"))).toBe(true);
  });
});

describe("mode: Magic link only", () => {
  const mode = "magic_link_only" as const;

  it("magic link opens the client's requests", async () => {
    const { firm, contact, base } = await setup(mode);
    const { response } = await claim(await issueLink(firm, contact));
    expect(response.headers.get("location")).toBe(`${base}/requests`);
  });

  it("the server refuses password sign-in, with an explanation, even with the right password", async () => {
    const { contact, base } = await setup(mode);
    const { response, browser } = await signIn(base, contact.email);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("uses email links only");
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
    const page = await (await new Browser().fetch(`${base}/login`)).text();
    expect(page).toContain("Email me a link");
    expect(page).not.toContain('type="password"');
  });

  it("the server refuses sign-up and password reset", async () => {
    const { firm, contact, base } = await setup(mode, { account: false });
    const { browser } = await claim(await issueLink(firm, contact));
    const fromLink = await browser.post(`${base}/signup`, { intent: "from-link", password: NEW_PASSWORD });
    expect(fromLink.status).toBe(403);
    const byEmail = await new Browser().post(`${base}/signup`, { intent: "request", email: contact.email });
    expect(byEmail.status).toBe(403);
    const reset = await new Browser().post(`${base}/forgot-password`, { intent: "request", email: contact.email });
    expect(reset.status).toBe(403);
    expect(await db.select().from(portalAccounts).where(eq(portalAccounts.contactId, contact.id))).toHaveLength(0);
  });
});

describe("mode: Magic link only, after a switch from the default mode", () => {
  async function switchedWithResetToken() {
    const { firm, contact, account, base } = await setup("magic_link_and_login");
    const token = await resetLinkFor(base, contact.email);
    const [switched] = await db.update(firms).set({ securityMode: "magic_link_only" }).where(eq(firms.id, firm.id)).returning();
    return { firm: switched, contact, account: account!, base, token };
  }

  async function unchanged(contact: { id: string }, account: { id: string; passwordHash: string | null }, token: string) {
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.passwordHash).toBe(account.passwordHash);
    expect(await db.select().from(sessions).where(eq(sessions.contactId, contact.id))).toHaveLength(0);
    const tokens = await db.select().from(accountTokens).where(eq(accountTokens.contactId, contact.id));
    expect(tokens.map((t) => t.usedAt)).toEqual(tokens.map(() => null));
    expect(tokens).toHaveLength(1);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }

  it("forgot-password and reset refuse on GET and POST, even with a reset token mailed before the switch", async () => {
    const { contact, account, base, token } = await switchedWithResetToken();
    const since = Date.now();
    for (const path of [`${base}/forgot-password`, `${base}/forgot-password?token=${token}`]) {
      const page = await new Browser().fetch(path);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("turned off portal passwords");
      expect(html).not.toContain('type="password"');
      expect(html).not.toContain(token);
    }
    const reset = await new Browser().post(`${base}/forgot-password`, { intent: "reset", token, password: NEW_PASSWORD });
    expect(reset.status).toBe(403);
    expect(await reset.text()).toContain("there are no passwords to reset");
    const request = await new Browser(freshIp()).post(`${base}/forgot-password`, { intent: "request", email: contact.email });
    expect(request.status).toBe(403);
    await unchanged(contact, account, token);
    expect(await emailsTo(contact.email, since)).toHaveLength(0);
  });

  it("the server functions refuse too, whoever calls them: no reset, no reset email, no sign-up email", async () => {
    const { firm, contact, account, token } = await switchedWithResetToken();
    const since = Date.now();
    const result = await resetPassword(db, firm, token, NEW_PASSWORD, { ip: "203.0.113.7", userAgent: "test" });
    expect(result).toEqual({ ok: false, status: 403, error: `${firm.name} uses email links only; there are no passwords to reset.` });
    const ctx = createExecutionContext();
    requestPasswordReset(db, env, ctx, firm, contact.email);
    requestSignupByEmail(db, env, ctx, firm, contact.email);
    await waitOnExecutionContext(ctx);
    await unchanged(contact, account, token);
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).toHaveLength(1); // the reset mailed before the switch
    expect(await emailsTo(contact.email, since)).toHaveLength(0);
  });

  it("a client who turned on 2FA is let in by a magic link: 2FA is n/a without passwords", async () => {
    const { firm, contact, account, base } = await setup("magic_link_only");
    await db.update(portalAccounts).set({ totpEnabledAt: Date.now(), totpSecret: "enrolled" }).where(eq(portalAccounts.id, account!.id));
    const { response, browser } = await claim(await issueLink(firm, contact));
    expect(response.headers.get("location")).toBe(`${base}/requests`);
    const page = await browser.fetch(`${base}/requests`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Your requests");
  });
});

describe("mode: Magic link + Login 2FA", () => {
  const mode = "magic_link_and_login_2fa" as const;

  it("password sign-in leads to 2FA set-up, never to requests", async () => {
    const { contact, base } = await setup(mode);
    const { response, browser } = await signIn(base, contact.email);
    expect(response.headers.get("location")).toBe(`${base}/2fa/setup`);
    const page = await browser.fetch(`${base}/requests`);
    expect(page.headers.get("location")).toBe(`${base}/2fa/setup`);
  });

  it("sign-up from a link leads to 2FA set-up (rule 11)", async () => {
    const { firm, contact, base } = await setup(mode, { account: false });
    const { response, browser } = await claim(await issueLink(firm, contact));
    expect(response.headers.get("location")).toBe(`${base}/signup`);
    const weak = await browser.post(`${base}/signup`, { intent: "from-link", password: "eleven char" });
    expect(await weak.text()).toContain("Use at least 12 characters.");
    const created = await browser.post(`${base}/signup`, { intent: "from-link", password: "twelve chars ok" });
    expect(created.headers.get("location")).toBe(`${base}/2fa/setup`);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa/setup`);
  });

  it("password reset never grants the 2FA flag (rule 11)", async () => {
    const { contact, account, base } = await setup(mode);
    await db.update(portalAccounts).set({ totpEnabledAt: Date.now(), totpSecret: "enrolled" }).where(eq(portalAccounts.id, account!.id));
    const token = await resetLinkFor(base, contact.email);
    const browser = new Browser();
    const reset = await browser.post(`${base}/forgot-password`, { intent: "reset", token, password: NEW_PASSWORD });
    expect(reset.headers.get("location")).toBe(`${base}/2fa`);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
    const [session] = await db.select().from(sessions).where(eq(sessions.contactId, contact.id));
    expect(session.twoFactorVerifiedAt).toBeNull();
  });
});
