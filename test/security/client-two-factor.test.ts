// Client 2FA through the worker: SECURITY.md rules 9, 11, 12, 14, 16, 17 and 25 for the portal.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { firms, portalAccounts, recoveryCodes, type SecurityMode } from "../../db/schema";
import { clientBrowser, createContact, createFirm, createPortalAccount, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";
import { claim, emailsTo, issueLink, urlTokenIn } from "../support/portal";
import { codeNow, enableTotp, portalOwner, wrongCode } from "../support/two-factor";

const PORTAL_PAGES = ["", "/requests", "/account", "/login", "/signup", "/forgot-password"];

async function enrolledClient(mode: SecurityMode = "magic_link_and_login_2fa") {
  const firm = await createFirm({ securityMode: mode });
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  const secret = await enableTotp(portalOwner(account));
  return { firm, contact, account, secret, base: `/portal/${firm.slug}` };
}

async function passwordStep(base: string, email: string, ip?: string, password = PASSWORD) {
  const browser = new Browser(ip);
  const response = await browser.post(`${base}/login`, { email, password });
  return { browser, response };
}

/** The secret shown on the setup page, read the way an authenticator app would: from the manual key. */
function secretFromPage(html: string): { key: string; pending: string } {
  const key = /class="totp-key">([A-Z2-7 ]+)</.exec(html)![1].replace(/ /g, "");
  const pending = /name="pending" value="([^"]+)"/.exec(html)![1];
  return { key, pending };
}

function base32Decode(key: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return bytes;
}

describe("rule 9: a password is only a first factor where 2FA applies", () => {
  for (const mode of ["magic_link_and_login_2fa", "magic_link_and_login"] as const) {
    it(`${mode}: after the password, every portal page except the 2FA pages redirects to /2fa`, async () => {
      const { contact, base } = await enrolledClient(mode);
      const { browser, response } = await passwordStep(base, contact.email);
      expect(response.headers.get("location")).toBe(`${base}/2fa`);
      for (const page of PORTAL_PAGES) {
        const r = await browser.fetch(`${base}${page}`);
        expect(r.status, page).toBe(302);
        expect(r.headers.get("location"), page).toBe(`${base}/2fa`);
      }
      for (const page of ["/2fa", "/recovery", "/help/two-factor"]) expect((await browser.fetch(`${base}${page}`)).status, page).toBe(200);
    });
  }
});

describe("the code step", () => {
  it("a right code signs in with a new token (rule 25); a replayed old cookie stays out", async () => {
    const { contact, secret, base } = await enrolledClient();
    const { browser } = await passwordStep(base, contact.email);
    const before = browser.cookies.get("__Host-portal_session")!;
    const response = await browser.post(`${base}/2fa`, { code: codeNow(secret) });
    expect(response.headers.get("location")).toBe(`${base}/requests`);
    const after = browser.cookies.get("__Host-portal_session")!;
    expect(after).not.toBe(before);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    const replay = new Browser();
    replay.cookies.set("__Host-portal_session", before);
    expect((await replay.fetch(`${base}/requests`)).status).toBe(302);
  });

  it("rule 14: the same valid code from two IPs is refused the second time", async () => {
    const { contact, secret, base } = await enrolledClient();
    const code = codeNow(secret);
    const first = await passwordStep(base, contact.email, "198.51.100.1");
    const second = await passwordStep(base, contact.email, "198.51.100.2");
    expect((await first.browser.post(`${base}/2fa`, { code })).status).toBe(302);
    const replay = await second.browser.post(`${base}/2fa`, { code });
    expect(replay.status).toBe(401);
    expect((await second.browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
  });

  it("rule 16: after 5 wrong codes the right one is refused, from another IP", async () => {
    const { contact, secret, base } = await enrolledClient();
    const attacker = await passwordStep(base, contact.email, "203.0.113.1");
    for (let i = 0; i < 5; i++) await attacker.browser.post(`${base}/2fa`, { code: wrongCode(secret) });
    const owner = await passwordStep(base, contact.email, "203.0.113.2");
    const response = await owner.browser.post(`${base}/2fa`, { code: codeNow(secret) });
    expect(response.status).toBe(429);
    expect(await response.text()).toContain("locked for 15 minutes");
    expect((await owner.browser.fetch(`${base}/requests`)).status).toBe(302);
  });

  it("bad input gets a clear 422, never a 500", async () => {
    const { contact, base } = await enrolledClient();
    const { browser } = await passwordStep(base, contact.email);
    for (const code of ["", "12345", "abcdef", "1".repeat(500)]) expect((await browser.post(`${base}/2fa`, { code })).status).toBe(422);
  });
});

describe("enrolment", () => {
  it("rule 12 and 11: sign-up in 2FA mode ends at enrolment; the enrolment code is burned; recovery codes are shown once", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const contact = await createContact(firm);
    const base = `/portal/${firm.slug}`;
    const { browser } = await claim(await issueLink(firm, contact));
    const created = await browser.post(`${base}/signup`, { intent: "from-link", password: "a fine long passphrase" });
    expect(created.headers.get("location")).toBe(`${base}/2fa/setup`);
    const setup = await (await browser.fetch(`${base}/2fa/setup`)).text();
    expect(setup).toContain("<svg");
    const { key, pending } = secretFromPage(setup);
    const secret = base32Decode(key);
    const [account] = await db.select().from(portalAccounts).where(eq(portalAccounts.contactId, contact.id));
    expect(account.totpSecret).toBeNull(); // nothing saved before a valid code

    const wrong = await browser.post(`${base}/2fa/setup`, { pending, code: wrongCode(secret) });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain(key.slice(0, 4)); // the same secret is shown again
    const code = codeNow(secret);
    const done = await browser.post(`${base}/2fa/setup`, { pending, code });
    expect(done.status).toBe(200);
    const html = await done.text();
    const codes = [...html.matchAll(/<li>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})<\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    const stored = await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id));
    expect(stored).toHaveLength(10);
    expect(JSON.stringify(stored)).not.toContain(codes[0]);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);

    // The enrolment code cannot be replayed at sign-in.
    const again = await passwordStep(base, contact.email, undefined, "a fine long passphrase");
    expect(again.response.headers.get("location")).toBe(`${base}/2fa`);
    expect((await again.browser.post(`${base}/2fa`, { code })).status).toBe(401);
  });

  it("a pending secret sealed for one account does not enrol another", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const first = await createPortalAccount(firm, await createContact(firm));
    const second = await createPortalAccount(firm, await createContact(firm));
    const base = `/portal/${firm.slug}`;
    const { key, pending } = secretFromPage(await (await (await clientBrowser(first)).fetch(`${base}/2fa/setup`)).text());
    const response = await (await clientBrowser(second)).post(`${base}/2fa/setup`, { pending, code: codeNow(base32Decode(key)) });
    expect(response.status).toBe(422);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, second.id));
    expect(row.totpEnabledAt).toBeNull();
  });
});

describe("rule 17: recovery codes", () => {
  async function enrolThroughPages() {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const browser = await clientBrowser(account);
    const { key, pending } = secretFromPage(await (await browser.fetch(`${base}/2fa/setup`)).text());
    const html = await (await browser.post(`${base}/2fa/setup`, { pending, code: codeNow(base32Decode(key)) })).text();
    const codes = [...html.matchAll(/<li>([a-z2-7-]{19})<\/li>/g)].map((m) => m[1]);
    return { firm, contact, account, base, browser, codes, secret: base32Decode(key) };
  }

  it("a code signs in once, ends other sessions, turns 2FA off, sends to re-enrolment, emails the client; a second use fails", async () => {
    const { contact, account, base, browser: otherDevice, codes } = await enrolThroughPages();
    expect((await otherDevice.fetch(`${base}/requests`)).status).toBe(200);
    const since = Date.now();
    const lost = await passwordStep(base, contact.email);
    const used = await lost.browser.post(`${base}/recovery`, { code: codes[3].toUpperCase() });
    expect(used.headers.get("location")).toBe(`${base}/2fa/setup`);
    expect((await lost.browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa/setup`);
    expect((await otherDevice.fetch(`${base}/requests`)).status).toBe(302);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).toBeNull();
    const [email] = await emailsTo(contact.email, since);
    expect(email.subject).toContain("recovery code was used");

    // Set up again, then the used code no longer works.
    const { key, pending } = secretFromPage(await (await lost.browser.fetch(`${base}/2fa/setup`)).text());
    await lost.browser.post(`${base}/2fa/setup`, { pending, code: codeNow(base32Decode(key)) });
    const next = await passwordStep(base, contact.email);
    expect((await next.browser.post(`${base}/recovery`, { code: codes[3] })).status).toBe(401);
  });

  it("rule 11: password reset never skips 2FA", async () => {
    const { contact, base } = await enrolledClient();
    const since = Date.now();
    await new Browser().post(`${base}/forgot-password`, { intent: "request", email: contact.email });
    const [mail] = await emailsTo(contact.email, since);
    const browser = new Browser();
    const reset = await browser.post(`${base}/forgot-password`, { intent: "reset", token: urlTokenIn(mail.textBody), password: "my new long passphrase" });
    expect(reset.headers.get("location")).toBe(`${base}/2fa`);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
  });
});

describe("in 2FA mode, every path in ends at enrolment or the code step (table)", () => {
  const paths: Array<[string, () => Promise<{ browser: Browser; base: string }>]> = [
    [
      "magic link, with an account",
      async () => {
        const { firm, contact, base } = await enrolledClient();
        const { browser } = await claim(await issueLink(firm, contact));
        return { browser, base };
      },
    ],
    [
      "magic link, no account",
      async () => {
        const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
        const { browser } = await claim(await issueLink(firm, await createContact(firm)));
        return { browser, base: `/portal/${firm.slug}` };
      },
    ],
    [
      "password, enrolled",
      async () => {
        const { contact, base } = await enrolledClient();
        return { browser: (await passwordStep(base, contact.email)).browser, base };
      },
    ],
    [
      "password, not enrolled",
      async () => {
        const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
        const contact = await createContact(firm);
        await createPortalAccount(firm, contact);
        const base = `/portal/${firm.slug}`;
        return { browser: (await passwordStep(base, contact.email)).browser, base };
      },
    ],
    [
      "a session from before the switch to 2FA",
      async () => {
        const firm = await createFirm();
        const contact = await createContact(firm);
        const account = await createPortalAccount(firm, contact);
        const browser = await clientBrowser(account);
        await db.update(firms).set({ securityMode: "magic_link_and_login_2fa" }).where(eq(firms.id, firm.id));
        return { browser, base: `/portal/${firm.slug}` };
      },
    ],
  ];
  for (const [name, start] of paths) {
    it(`${name}: no request is shown`, async () => {
      const { browser, base } = await start();
      for (const page of ["/requests", "/account"]) {
        const response = await browser.fetch(`${base}${page}`);
        expect(response.status).toBe(302);
        expect(response.headers.get("location")).toMatch(/\/(2fa|2fa\/setup|login\?email=.*|signup|)$/);
      }
    });
  }
});

describe("the client's own 2FA in the default mode", () => {
  it("can be turned on from the account page, is then required, and turning it off needs a code", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const browser = await clientBrowser(account);
    expect(await (await browser.fetch(`${base}/account`)).text()).toContain("Set up two-factor authentication");
    const { key, pending } = secretFromPage(await (await browser.fetch(`${base}/2fa/setup`)).text());
    const secret = base32Decode(key);
    expect((await browser.post(`${base}/2fa/setup`, { pending, code: codeNow(secret) })).status).toBe(200);
    const signIn = await passwordStep(base, contact.email);
    expect(signIn.response.headers.get("location")).toBe(`${base}/2fa`);
    const wrong = await browser.post(`${base}/account`, { intent: "disable-2fa", code: wrongCode(secret) });
    expect(wrong.status).toBe(401);
    const off = await browser.post(`${base}/account`, { intent: "disable-2fa", code: codeNow(secret, 1) });
    expect(off.status).toBe(200);
    expect((await passwordStep(base, contact.email)).response.headers.get("location")).toBe(`${base}/requests`);
  });

  it("cannot be turned off while the firm requires it", async () => {
    const { account, secret, base } = await enrolledClient();
    const browser = await clientBrowser(account, { twoFactor: true });
    const response = await browser.post(`${base}/account`, { intent: "disable-2fa", code: codeNow(secret) });
    expect(response.status).toBe(403);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).not.toBeNull();
  });
});
