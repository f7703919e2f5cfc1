// SECURITY.md rules 24 and 26 for client sessions (the staff side is in staff-sessions.test.ts).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../db/schema";
import { createContact, createFirm, createPortalAccount, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";
import { claim, issueLink } from "../support/portal";
import { codeNow, enableTotp, portalOwner } from "../support/two-factor";

const COOKIE_RULE = /^__Host-[a-z_]+=[^;]*; Path=\/; Secure; HttpOnly; SameSite=Lax(; Max-Age=\d+)?$/;

describe("rule 24: every portal Set-Cookie follows the __Host- rule", () => {
  it("link claim, password sign-in, 2FA step and sign-out", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const secret = await enableTotp(portalOwner(account));
    const base = `/portal/${firm.slug}`;
    const { browser } = await claim(await issueLink(firm, contact));
    await browser.post(`${base}/login`, { email: contact.email, password: PASSWORD });
    await browser.post(`${base}/2fa`, { code: codeNow(secret) });
    await browser.post(`${base}/logout`, {});
    const names = new Set(browser.setCookies.map((c) => c.split("=")[0]));
    // The D1 bookmark (ADR 020) keeps this browser's later public reads at least as new as its writes.
    expect([...names].sort()).toEqual(["__Host-db_bookmark", "__Host-device", "__Host-portal_session"]);
    for (const cookie of browser.setCookies) {
      expect(cookie).toMatch(COOKIE_RULE);
      expect(cookie.toLowerCase()).not.toContain("domain=");
    }
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
  });
});

describe("rule 26: client password sessions time out", () => {
  async function signedIn() {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const browser = new Browser();
    await browser.post(`/portal/${firm.slug}/login`, { email: contact.email, password: PASSWORD });
    const id = browser.cookies.get("__Host-portal_session")!.split(".")[0];
    return { browser, id, base: `/portal/${firm.slug}` };
  }

  it("31 minutes idle gives a signed-out page", async () => {
    const { browser, id, base } = await signedIn();
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    await db.update(sessions).set({ lastSeenAt: Date.now() - 31 * 60_000 }).where(eq(sessions.id, id));
    const response = await browser.fetch(`${base}/requests`);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(base);
    expect(await db.select().from(sessions).where(eq(sessions.id, id))).toHaveLength(0);
  });

  it("12 hours 1 minute after sign-in gives a signed-out page, even when active", async () => {
    const { browser, id, base } = await signedIn();
    const now = Date.now();
    await db.update(sessions).set({ createdAt: now - 12 * 60 * 60_000 - 60_000, expiresAt: now - 60_000, lastSeenAt: now }).where(eq(sessions.id, id));
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(base);
  });

  it("a link session is not cut by idleness within its 30 days", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const { browser } = await claim(await issueLink(firm, contact));
    const id = browser.cookies.get("__Host-portal_session")!.split(".")[0];
    await db.update(sessions).set({ lastSeenAt: Date.now() - 3 * 24 * 60 * 60_000 }).where(eq(sessions.id, id));
    expect((await browser.fetch(`/portal/${firm.slug}/requests`)).status).toBe(200);
  });
});
