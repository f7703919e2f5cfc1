// Concurrency (issue 10, "Make the bar executable"): parallel use of one recovery code, parallel
// submissions of one TOTP code at sign-in, parallel mode switches by two admins. Each race goes through
// the real worker with Promise.all, and must end with exactly one winner and no torn state.
// (Parallel login-email changes are tested with the email-change work.)
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, firms, portalAccounts, recoveryCodes, sessions, staffUsers, type SecurityMode } from "../../db/schema";
import { runBatch } from "~/server/db.server";
import { changeSecurityMode } from "~/server/portal/security-mode.server";
import { generateRecoveryCodes, replaceRecoveryCodes } from "~/server/auth/recovery-codes.server";
import { currentStep } from "~/server/auth/totp.server";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, emailsTo, issueLink } from "../support/portal";
import { codeNow, enableTotp, portalOwner, staffOwner } from "../support/two-factor";

const RACERS = 10;

/**
 * Whether a response let its browser in: it sets a new, non-empty session cookie. A plain 302 is not
 * enough: a racer whose session the winner ended is redirected to sign-in too.
 */
function accepted(response: Response, cookie: "__Host-portal_session" | "__Host-staff_session"): boolean {
  return response.headers.getSetCookie().some((c) => c.startsWith(`${cookie}=`) && !c.startsWith(`${cookie}=;`) && !/max-age=0/i.test(c));
}

function ipOf(n: number): string {
  return `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

async function clientWithTotp(mode: SecurityMode = "magic_link_and_login_2fa") {
  const firm = await createFirm({ securityMode: mode });
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  const secret = await enableTotp(portalOwner(account));
  const codes = generateRecoveryCodes();
  await runBatch(db, await replaceRecoveryCodes(db, env, account.id, codes));
  return { firm, contact, account, secret, codes, base: `/portal/${firm.slug}` };
}

/** Browsers past the password, waiting at the code step: one per IP, or one browser repeated. */
async function pendingClients(account: { id: string; firmId: string; contactId: string }, sameBrowser: boolean): Promise<Browser[]> {
  if (sameBrowser) {
    const browser = await clientBrowser(account, { ip: ipOf(0) });
    return Array.from({ length: RACERS }, () => browser);
  }
  return Promise.all(Array.from({ length: RACERS }, (_, n) => clientBrowser(account, { ip: ipOf(n) })));
}

async function contactSessions(contactId: string) {
  return db.select().from(sessions).where(eq(sessions.contactId, contactId));
}

async function auditOf(firmId: string, type: string) {
  return db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firmId), eq(auditEvents.type, type)));
}

for (const sameBrowser of [false, true]) {
  const who = sameBrowser ? "one browser" : "different browsers and IPs";
  describe(`concurrency: one recovery code posted ${RACERS} times at once (${who}), SECURITY.md rule 17`, () => {
    it("exactly one is accepted; 2FA off, codes gone, one audit event, one email, one session left", async () => {
      const { firm, contact, account, codes, base } = await clientWithTotp();
      const browsers = await pendingClients({ id: account.id, firmId: firm.id, contactId: contact.id }, sameBrowser);
      const since = Date.now();
      const responses = await Promise.all(browsers.map((browser) => browser.post(`${base}/recovery`, { code: codes[2] })));
      const wins = responses.map((r) => accepted(r, "__Host-portal_session"));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(responses.every((r) => [302, 401, 429].includes(r.status))).toBe(true);

      const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
      // No torn factor state: off, with no failure count or lock left over from the losers.
      expect(row).toMatchObject({ totpEnabledAt: null, totpSecret: null, totpLastStep: null, totpFailures: 0, totpLockedUntil: null });
      expect(await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id))).toHaveLength(0);
      expect(await auditOf(firm.id, "client.recovery_code_used")).toHaveLength(1);
      const mails = (await emailsTo(contact.email, since)).filter((m) => m.subject.includes("recovery code was used"));
      expect(mails).toHaveLength(1);
      // Only the winner's (rotated) session is left, and it is the one the winner's browser holds.
      const left = await contactSessions(contact.id);
      expect(left).toHaveLength(1);
      const winner = browsers[wins.indexOf(true)];
      expect(responses[wins.indexOf(true)].headers.get("location")).toBe(`${base}/2fa/setup`);
      expect(winner.cookies.get("__Host-portal_session")!.split(".")[0]).toBe(left[0].id);
      if (!sameBrowser) {
        for (const [n, browser] of browsers.entries()) {
          if (browser === winner) continue;
          // Their sessions were ended by the winner's recovery: back to sign-in, not even the code step.
          const response = await browser.fetch(`${base}/requests`);
          expect(response.status, `loser ${n}`).toBe(302);
          expect(response.headers.get("location"), `loser ${n}`).not.toBe(`${base}/2fa`);
        }
      }
    });
  });

  describe(`concurrency: one TOTP code submitted ${RACERS} times at once at sign-in (${who}), SECURITY.md rule 14`, () => {
    it("client portal: exactly one is accepted and the step is burned once", async () => {
      const { firm, contact, account, secret, base } = await clientWithTotp();
      const browsers = await pendingClients({ id: account.id, firmId: firm.id, contactId: contact.id }, sameBrowser);
      const step = currentStep();
      const code = codeNow(secret);
      const responses = await Promise.all(browsers.map((browser) => browser.post(`${base}/2fa`, { code })));
      const wins = responses.map((r) => accepted(r, "__Host-portal_session"));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(responses.every((r) => [302, 401, 429].includes(r.status))).toBe(true);
      const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
      expect(row.totpLastStep).toBeGreaterThanOrEqual(step);
      expect(row.totpEnabledAt).not.toBeNull();
      expect(await auditOf(firm.id, "client.signed_in")).toHaveLength(1);
      // Exactly one session is past 2FA.
      const verified = (await contactSessions(contact.id)).filter((s) => s.twoFactorVerifiedAt !== null);
      expect(verified).toHaveLength(1);
      const winner = browsers[wins.indexOf(true)];
      expect(responses[wins.indexOf(true)].headers.get("location")).toBe(`${base}/requests`);
      expect(winner.cookies.get("__Host-portal_session")!.split(".")[0]).toBe(verified[0].id);
    });

    it("staff: exactly one is accepted and the step is burned once", async () => {
      const firm = await createFirm();
      const staff = await createStaff(firm);
      const secret = await enableTotp(staffOwner(staff));
      let browsers: Browser[];
      if (sameBrowser) {
        const browser = new Browser(ipOf(0));
        expect((await browser.post("/login", { email: staff.email, password: PASSWORD })).headers.get("location")).toMatch(/^\/login\/2fa/);
        browsers = Array.from({ length: RACERS }, () => browser);
      } else {
        browsers = [];
        for (let n = 0; n < RACERS; n++) {
          const browser = new Browser(ipOf(n));
          expect((await browser.post("/login", { email: staff.email, password: PASSWORD })).headers.get("location")).toMatch(/^\/login\/2fa/);
          browsers.push(browser);
        }
      }
      const step = currentStep();
      const code = codeNow(secret);
      const responses = await Promise.all(browsers.map((browser) => browser.post("/login/2fa", { code })));
      const wins = responses.map((r) => accepted(r, "__Host-staff_session"));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(responses.every((r) => [302, 401, 429].includes(r.status))).toBe(true);
      const [row] = await db.select().from(staffUsers).where(eq(staffUsers.id, staff.id));
      expect(row.totpLastStep).toBeGreaterThanOrEqual(step);
      expect(await auditOf(firm.id, "staff.two_factor_passed")).toHaveLength(1);
      const verified = (await db.select().from(sessions).where(eq(sessions.staffUserId, staff.id))).filter((s) => s.twoFactorVerifiedAt !== null);
      expect(verified).toHaveLength(1);
      const winner = browsers[wins.indexOf(true)];
      expect(winner.cookies.get("__Host-staff_session")!.split(".")[0]).toBe(verified[0].id);
      expect((await winner.fetch("/app/contacts")).status).toBe(200);
    });
  });
}

describe("concurrency: two admins switch the portal security mode at once (Settings > Client Portal > Security)", () => {
  const PATH = "/app/settings/client-portal/security";

  /** Posts the review step and returns the hidden fields of its "Confirm and save" form. */
  async function reviewed(admin: Browser, mode: SecurityMode): Promise<Record<string, string>> {
    const html = await (await admin.post(PATH, { mode, intent: "review" })).text();
    // The review may also offer a heads-up email form; the confirmation is the form whose intent is "confirm".
    const after = html.slice(html.indexOf('<h2 id="confirm-heading">'));
    const form = [...after.matchAll(/<form[^>]*>([\s\S]*?)<\/form>/g)].find((m) => m[1].includes('name="intent" value="confirm"'));
    expect(form, "the confirmation form").toBeDefined();
    const fields = Object.fromEntries([...form![1].matchAll(/<input type="hidden" name="([a-z]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(fields).toMatchObject({ mode, intent: "confirm" });
    return fields;
  }

  /** One session of each kind a switch may end. */
  async function clientSessions(firm: TestFirm) {
    const base = `/portal/${firm.slug}`;
    const passwordContact = await createContact(firm);
    await createPortalAccount(firm, passwordContact);
    const password = new Browser(ipOf(1));
    expect((await password.post(`${base}/login`, { email: passwordContact.email, password: PASSWORD })).status).toBe(302);
    const link = (await claim(await issueLink(firm, await createContact(firm)), new Browser(ipOf(2)))).browser;
    const verifiedContact = await createContact(firm);
    const verifiedAccount = await createPortalAccount(firm, verifiedContact);
    const verified = await clientBrowser(verifiedAccount, { twoFactor: true, ip: ipOf(3) });
    const id = (browser: Browser) => browser.cookies.get("__Host-portal_session")!.split(".")[0];
    return { password: id(password), link: id(link), verified: id(verified) };
  }

  /** Which of the three sessions a switch to each mode keeps (PRODUCT.md; security-mode.server.ts). */
  const KEPT: Record<SecurityMode, Array<"password" | "link" | "verified">> = {
    magic_link_and_login: ["password", "link", "verified"],
    magic_link_only: ["link"],
    magic_link_and_login_2fa: ["verified"],
  };

  const races: Array<[SecurityMode, SecurityMode, SecurityMode]> = [
    ["magic_link_and_login", "magic_link_only", "magic_link_and_login_2fa"],
    ["magic_link_and_login_2fa", "magic_link_only", "magic_link_and_login"],
    ["magic_link_and_login", "magic_link_and_login_2fa", "magic_link_and_login_2fa"],
  ];
  for (const [from, first, second] of races) {
    it(`${from}: one admin picks ${first}, the other ${second}; one consistent winner, no torn state`, async () => {
      const firm = await createFirm({ plan: "business" });
      const staffs = [await createStaff(firm), await createStaff(firm)];
      const admins = [await signInStaff(staffs[0].email, PASSWORD, new Browser(ipOf(10))), await signInStaff(staffs[1].email, PASSWORD, new Browser(ipOf(11)))];
      // The sessions are made in the default mode, then the firm is put in the starting mode.
      const ids = await clientSessions(firm);
      await db.update(firms).set({ securityMode: from }).where(eq(firms.id, firm.id));
      const wanted = [first, second];
      // Each admin reviews the switch as the page does, then both confirm at once with the page's form.
      const confirmForms = await Promise.all(admins.map((admin, n) => reviewed(admin, wanted[n])));
      const responses = await Promise.all(admins.map((admin, n) => admin.post(PATH, confirmForms[n])));
      const bodies = await Promise.all(responses.map((r) => r.text()));
      const saved = bodies.map((body, n) => responses[n].status === 200 && body.includes("Saved: clients now use"));
      expect(saved.filter(Boolean)).toHaveLength(1);
      const winner = saved.indexOf(true);
      const loser = 1 - winner;
      const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
      expect(row.securityMode).toBe(wanted[winner]);

      // One audit event, describing exactly the change that happened.
      const changes = await auditOf(firm.id, "firm.security_mode_changed");
      expect(changes).toHaveLength(1);
      const ended = (Object.keys(ids) as Array<keyof typeof ids>).filter((kind) => !KEPT[wanted[winner]].includes(kind));
      expect(JSON.parse(changes[0].detail!)).toEqual({ from, to: wanted[winner], endedSessions: ended.length });
      expect(changes[0].actorId).toBe(staffs[winner].id);
      // The sessions left are exactly those the final mode keeps (and the starting mode allowed).
      const left = new Set((await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.firmId, firm.id))).map((s) => s.id));
      for (const kind of Object.keys(ids) as Array<keyof typeof ids>) {
        expect(left.has(ids[kind]), kind).toBe(!ended.includes(kind));
      }
      // The other admin is told plainly, not shown a success.
      if (wanted[loser] === wanted[winner]) {
        expect(bodies[loser]).toContain("already the firm");
      } else {
        expect(responses[loser].status).toBe(409);
        expect(bodies[loser]).toContain("changed by someone else");
      }
    });
  }
});

describe("concurrency: a mode switch computed from a stale read changes nothing (the batch's own check)", () => {
  it("two switches both read before either writes: the second batch ends no session and writes no audit event", async () => {
    const firm = await createFirm({ plan: "business" });
    const [a, b] = [await createStaff(firm), await createStaff(firm)];
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const verified = await clientBrowser(account, { twoFactor: true });
    const verifiedId = verified.cookies.get("__Host-portal_session")!.split(".")[0];
    // Both requests loaded the firm (mode: magic_link_and_login) before either switch ran.
    const stale = (staff: typeof a) => ({ staff, firm, session: {} as never, passkeys: 0 });
    const meta = { ip: "198.18.9.9", userAgent: "test" };
    const first = await changeSecurityMode(db, stale(a), "magic_link_and_login_2fa", meta);
    const second = await changeSecurityMode(db, stale(b), "magic_link_only", meta);
    expect(first).toEqual({ ok: true, changed: true, endedSessions: 0 });
    expect(second).toMatchObject({ ok: false, status: 409 });
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_and_login_2fa");
    expect(await auditOf(firm.id, "firm.security_mode_changed")).toHaveLength(1);
    // magic_link_only would have ended this password session; the losing switch did not.
    expect((await db.select().from(sessions).where(eq(sessions.id, verifiedId))).length).toBe(1);
  });
});
