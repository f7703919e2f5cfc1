// SECURITY.md rules 1-8: magic links.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { accessLinks, sessions } from "../../db/schema";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, emailsTo, issueLink, linkTokenIn, settle, urlTokenIn } from "../support/portal";
import { logText, placesHolding, tokenForms } from "../support/at-rest";
import { sha256Hex } from "~/server/crypto.server";
import { deliverOutbox } from "~/server/outbox-delivery.server";
import { sendStaffLink } from "~/server/portal/access-links.server";
import type { EmailTransport } from "~/server/outbox.server";

/** The one email to an address since a moment (after the work done after the response). */
async function onlyEmailTo(address: string, since: number) {
  await settle();
  const emails = await emailsTo(address, since);
  expect(emails, `emails to ${address}`).toHaveLength(1);
  return emails[0];
}

async function linkSessionsOf(contactId: string) {
  return db.select().from(sessions).where(eq(sessions.contactId, contactId));
}

describe("rule 1: no usable token is stored or logged in clear, the outbox included", () => {
  it("a staff link, a self-service link, a password reset and a sign-up verification: before and after delivery, no D1 table, KV key or value, nor log line holds one", async () => {
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(logText).join(" "))),
    );
    let tokens: string[] = [];
    try {
      const firm = await createFirm();
      const staff = await createStaff(firm, { role: "member" });
      const linked = await createContact(firm);
      const selfServed = await createContact(firm);
      const resetting = await createContact(firm);
      await createPortalAccount(firm, resetting);
      const signingUp = await createContact(firm);
      const base = `/portal/${firm.slug}`;
      const since = Date.now();

      const staffBrowser = await signInStaff(staff.email, PASSWORD);
      expect((await staffBrowser.post(`/app/contacts/${linked.id}`, { intent: "send-link" })).status).toBe(200);
      expect((await new Browser("198.51.100.71").post(`${base}?index`, { intent: "email-link", email: selfServed.email })).status).toBe(200);
      expect((await new Browser("198.51.100.72").post(`${base}/forgot-password`, { intent: "request", email: resetting.email })).status).toBe(200);
      expect((await new Browser("198.51.100.73").post(`${base}/signup`, { intent: "request", email: signingUp.email })).status).toBe(200);

      // The tokens, read the way the recipient reads them (the helper renders the queued message).
      const staffLink = linkTokenIn((await onlyEmailTo(linked.email, since)).textBody);
      const selfServiceLink = linkTokenIn((await onlyEmailTo(selfServed.email, since)).textBody);
      const passwordReset = urlTokenIn((await onlyEmailTo(resetting.email, since)).textBody);
      const signUpVerification = urlTokenIn((await onlyEmailTo(signingUp.email, since)).textBody);
      tokens = [staffLink, selfServiceLink, passwordReset, signUpVerification];
      expect(new Set(tokens).size).toBe(4);

      // The scan reads every row of every table: it finds the hash access_links keeps (a positive control).
      expect(await placesHolding([await sha256Hex(staffLink)])).toContain("D1 access_links.token_hash");
      expect(await placesHolding(tokens), "before delivery").toEqual([]);

      // Delivery renders each link into its message for the provider, and leaves nothing usable behind.
      const provider: string[] = [];
      const recording: EmailTransport = { name: "recording", send: async (message) => void provider.push(message.text) };
      const report = await deliverOutbox(db, env, recording, Date.now() + 1000, 1000);
      expect(report.failed).toBe(0);
      for (const token of tokens) expect(provider.filter((text) => text.includes(token))).toHaveLength(1);
      expect(await placesHolding(tokens), "after delivery").toEqual([]);

      // Opening them (the claim writes sessions, the token pages read the tokens) logs and stores nothing of them.
      expect((await claim(staffLink)).response.status).toBe(302);
      expect((await claim(selfServiceLink)).response.status).toBe(302);
      expect((await new Browser().fetch(`${base}/forgot-password?token=${passwordReset}`)).status).toBe(200);
      expect((await new Browser().fetch(`${base}/signup?token=${signUpVerification}`)).status).toBe(200);
      expect(await placesHolding(tokens), "after use").toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const log = logged.join("\n");
    for (const token of tokens) for (const form of tokenForms(token)) expect(log).not.toContain(form);
  });
});

describe("rule 2: GET and HEAD never consume a link", () => {
  it("three GETs and a HEAD, from scanners, then the POST still succeeds", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    for (let i = 0; i < 3; i++) {
      const scanner = new Browser(`198.51.100.${i}`);
      const page = await scanner.fetch(`/l/${token}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Continue");
    }
    expect((await new Browser().fetch(`/l/${token}`, { method: "HEAD" })).status).toBe(200);
    const [row] = await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id));
    expect(row.claimedAt).toBeNull();
    expect(await linkSessionsOf(contact.id)).toHaveLength(0);

    const { response } = await claim(token);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`/portal/${firm.slug}/requests`);
  });
});

describe("rule 3: exactly-once claim", () => {
  it("20 concurrent claim POSTs from 20 browsers produce exactly one link session", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    const browsers = Array.from({ length: 20 }, (_, i) => new Browser(`192.0.2.${i}`));
    await Promise.all(browsers.map((b) => b.fetch(`/l/${token}`)));
    const responses = await Promise.all(browsers.map((b) => b.post(`/l/${token}`, { intent: "continue" })));
    expect(responses.filter((r) => r.status === 302)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 410)).toHaveLength(19);
    expect(await linkSessionsOf(contact.id)).toHaveLength(1);
    expect(browsers.filter((b) => b.cookies.has("__Host-portal_session"))).toHaveLength(1);
  });
});

describe("rule 4: a claimed link works only on the claiming browser", () => {
  it("the same browser reopens it; a second browser gets 'Email me a new link' and no session", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    const { browser } = await claim(token);
    // Same browser, even after its session cookie is gone: the device cookie still matches.
    browser.cookies.delete("__Host-portal_session");
    const again = await browser.post(`/l/${token}`, { intent: "continue" });
    expect(again.status).toBe(302);
    expect(browser.cookies.has("__Host-portal_session")).toBe(true);

    const other = new Browser("203.0.113.99");
    const { response } = await claim(token, other);
    expect(response.status).toBe(410);
    const html = await response.text();
    expect(html).toContain("Email me a new link");
    expect(other.cookies.has("__Host-portal_session")).toBe(false);

    // The button sends a fresh link to the address on file; nothing is typed.
    const since = Date.now();
    const sent = await other.post(`/l/${token}`, { intent: "new-link" });
    expect(sent.status).toBe(200);
    const [email] = await emailsTo(contact.email, since);
    expect(linkTokenIn(email.textBody)).not.toBe(token);
  });
});

describe("rule 5: expiry", () => {
  it("an unclaimed staff link past 14 days is refused with a page offering a new one", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    await db.update(accessLinks).set({ expiresAt: Date.now() - 1000 }).where(eq(accessLinks.contactId, contact.id));
    // KV holds the link too; the claim must not trust it.
    const { browser, response } = await claim(token);
    expect(response.status).toBe(410);
    expect(await response.text()).toContain("Email me a new link");
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
  });

  it("a self-service link lasts 15 minutes, and a new one voids the older unclaimed one", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const first = await issueLink(firm, contact, "self_service");
    const [row] = await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id));
    expect(row.expiresAt - row.createdAt).toBe(15 * 60_000);
    const second = await issueLink(firm, contact, "self_service");
    expect((await claim(first)).response.status).toBe(410);
    expect((await claim(second)).response.status).toBe(302);
  });

  it("a link session ends 30 days after the claim", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const { browser } = await claim(await issueLink(firm, contact));
    expect((await browser.fetch(`/portal/${firm.slug}/requests`)).status).toBe(200);
    await db.update(sessions).set({ expiresAt: Date.now() - 1 }).where(eq(sessions.contactId, contact.id));
    const response = await browser.fetch(`/portal/${firm.slug}/requests`);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`/portal/${firm.slug}`);
  });
});

describe("rule 6: token pages are neither referred nor cached", () => {
  it("GET and POST answers of /l/<token> send no-referrer and no-store", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    const browser = new Browser();
    const get = await browser.fetch(`/l/${token}`);
    const post = await browser.post(`/l/${token}`, { intent: "continue" });
    const refused = await new Browser().post(`/l/${token}`, { intent: "continue" });
    const unknown = await new Browser().fetch(`/l/${"A".repeat(43)}`);
    for (const response of [get, post, refused, unknown]) {
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
    expect(unknown.status).toBe(404);
  });
});

describe("rule 7: a firm-A link never opens firm-B data", () => {
  it("a session from firm A's link opens nothing under firm B's portal", async () => {
    const firmA = await createFirm();
    const firmB = await createFirm();
    const contactA = await createContact(firmA);
    const { browser } = await claim(await issueLink(firmA, contactA));
    const response = await browser.fetch(`/portal/${firmB.slug}/requests`);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`/portal/${firmB.slug}`);
  });
});

describe("rule 8: in 2FA mode a link never yields requests", () => {
  it("claiming a link in 2FA mode leads to sign-in, and requests stay out of reach", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const withAccount = await createContact(firm);
    await createPortalAccount(firm, withAccount);
    const withoutAccount = await createContact(firm);
    const first = await claim(await issueLink(firm, withAccount));
    expect(first.response.headers.get("location")).toMatch(new RegExp(`^/portal/${firm.slug}/login\\?email=`));
    const second = await claim(await issueLink(firm, withoutAccount));
    expect(second.response.headers.get("location")).toBe(`/portal/${firm.slug}/signup`);
    for (const { browser } of [first, second]) {
      const page = await browser.fetch(`/portal/${firm.slug}/requests`);
      expect(page.status).toBe(302);
      expect(page.headers.get("location")).not.toMatch(/requests/);
    }
  });

  it("in the default mode, a client who turned 2FA on is also asked to sign in", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    await env.DB.prepare("UPDATE portal_accounts SET totp_enabled_at = ?, totp_secret = 'x' WHERE id = ?").bind(Date.now(), account.id).run();
    const { response, browser } = await claim(await issueLink(firm, contact));
    expect(response.headers.get("location")).toMatch(/\/login\?email=/);
    expect((await browser.fetch(`/portal/${firm.slug}/requests`)).status).toBe(302);
  });
});

describe("the KV copy of a link is never needed (ADR 009)", () => {
  it("a send whose KV copy cannot be written (KV's daily write limit, an outage) still succeeds, mails the link, and the link works", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const staff = await createStaff(firm);
    // The real namespace for reads; every write refused the way KV refuses one over its limit.
    const refusingKv = new Proxy(env.LINKS, {
      get(target, key) {
        if (key === "put") return () => Promise.reject(new Error("KV put() limit exceeded for the day."));
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const since = Date.now();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const sent = await sendStaffLink(db, { ...env, LINKS: refusingKv }, { firm, contact, staff: { id: staff.id, email: staff.email }, purpose: "staff", ip: "192.0.2.1", userAgent: "test" });
      expect(sent.ok).toBe(true);
      expect(errors.mock.calls.map((call) => String(call[0])).join("\n")).toContain("not written: KV put() limit exceeded");
    } finally {
      errors.mockRestore();
    }
    const [mail] = await emailsTo(contact.email, since);
    const token = linkTokenIn(mail.textBody);
    const { response } = await claim(token);
    expect(response.status).toBe(302);
  });
});
