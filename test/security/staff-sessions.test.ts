// SECURITY.md rules 23-27 for staff sessions.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../db/schema";
import { sha256Hex } from "~/server/crypto.server";
import { createFirm, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";

const COOKIE_RULE = /^__Host-[a-z_]+=[^;]*; Path=\/; Secure; HttpOnly; SameSite=Lax(; Max-Age=\d+)?$/;

async function staffBrowser() {
  const firm = await createFirm();
  const staff = await createStaff(firm);
  const browser = await signInStaff(staff.email, PASSWORD);
  return { firm, staff, browser };
}

function sessionId(browser: Browser): string {
  return browser.cookies.get("__Host-staff_session")!.split(".")[0];
}

describe("rule 23: a leaked session row does not authenticate", () => {
  it("stores only SHA-256 of the secret, and the row's values do not work as a cookie", async () => {
    const { browser } = await staffBrowser();
    const token = browser.cookies.get("__Host-staff_session")!;
    const [id, secret] = token.split(".");
    const row = await db.query.sessions.findFirst({ where: eq(sessions.id, id) });
    expect(row!.secretHash).toBe(await sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    const thief = new Browser();
    thief.cookies.set("__Host-staff_session", `${id}.${row!.secretHash}`);
    const response = await thief.fetch("/app/contacts");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/login/);
  });
});

describe("rule 24: cookie flags", () => {
  it("every Set-Cookie of sign-in, pages and sign-out follows the __Host- rule", async () => {
    const { browser } = await staffBrowser();
    await browser.fetch("/app/contacts");
    await browser.post("/logout", {});
    expect(browser.setCookies.length).toBeGreaterThanOrEqual(2);
    for (const cookie of browser.setCookies) {
      expect(cookie).toMatch(COOKIE_RULE);
      expect(cookie.toLowerCase()).not.toContain("domain=");
    }
  });
});

describe("rule 25: token rotation", () => {
  it("a new token at sign-in and at re-authentication; the old one stops working", async () => {
    const { staff, browser } = await staffBrowser();
    const first = browser.cookies.get("__Host-staff_session")!;
    // Signing in again from the same browser issues a different token.
    await browser.post("/login", { email: staff.email, password: PASSWORD });
    const second = browser.cookies.get("__Host-staff_session")!;
    expect(second).not.toBe(first);
    const response = await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: "/app/contacts" });
    expect(response.status).toBe(302);
    const third = browser.cookies.get("__Host-staff_session")!;
    expect(third).not.toBe(second);
    const replay = new Browser();
    replay.cookies.set("__Host-staff_session", second);
    expect((await replay.fetch("/app/contacts")).status).toBe(302);
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
  });
});

describe("rule 26: timeouts", () => {
  it("31 minutes idle signs the staff member out", async () => {
    const { browser } = await staffBrowser();
    const now = Date.now();
    await db.update(sessions).set({ lastSeenAt: now - 31 * 60_000 }).where(eq(sessions.id, sessionId(browser)));
    const response = await browser.fetch("/app/contacts");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
  });

  it("12 hours 1 minute after sign-in signs the staff member out, even when active", async () => {
    const { browser } = await staffBrowser();
    const now = Date.now();
    await db
      .update(sessions)
      .set({ createdAt: now - 12 * 60 * 60_000 - 60_000, expiresAt: now - 60_000, lastSeenAt: now })
      .where(eq(sessions.id, sessionId(browser)));
    const response = await browser.fetch("/app/contacts");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/login/);
  });

  it("a page view within the touch interval writes nothing", async () => {
    const { browser } = await staffBrowser();
    const before = await db.query.sessions.findFirst({ where: eq(sessions.id, sessionId(browser)) });
    await browser.fetch("/app/contacts");
    const after = await db.query.sessions.findFirst({ where: eq(sessions.id, sessionId(browser)) });
    expect(after!.lastSeenAt).toBe(before!.lastSeenAt);
  });
});

describe("rule 27: revocation and logout", () => {
  it("logout is a POST; a GET signs nobody out", async () => {
    const { browser } = await staffBrowser();
    const get = await browser.fetch("/logout");
    expect(get.status).toBe(302);
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
    const token = browser.cookies.get("__Host-staff_session")!;
    await browser.post("/logout", {});
    const replay = new Browser();
    replay.cookies.set("__Host-staff_session", token);
    expect((await replay.fetch("/app/contacts")).status).toBe(302);
  });
});
