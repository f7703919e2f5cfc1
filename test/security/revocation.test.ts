// SECURITY.md rule 27: revocation. After a login-email change, a password reset, a 2FA reset, "sign out of
// all devices" (staff or client) or a contact's deletion, nothing mailed before lets anyone back in:
// unclaimed links, a claimed link re-posted on the browser that claimed it, password-reset and
// email-verification tokens. A token works only for the address it was sent to. Also: a claimed link's
// page answers the same on GET and POST, and a link session never reaches the account page.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, auditEvents, contacts, outbox, portalAccounts, sessions } from "../../db/schema";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, emailsTo, issueLink, urlTokenIn } from "../support/portal";
import { codeNow, enableTotp, portalOwner } from "../support/two-factor";
import { env } from "cloudflare:workers";
import { generateRecoveryCodes, replaceRecoveryCodes } from "../../app/server/auth/recovery-codes.server";
import { runBatch } from "../../app/server/db.server";
import { changeLoginEmail } from "../../app/server/staff/client-access.server";
import type { StaffAuth } from "../../app/server/staff/staff-auth.server";

const SESSION = "__Host-portal_session";
const NEW_PASSWORD = "a brand new portal passphrase";
const DAY = 24 * 60 * 60_000;

let ipCounter = 0;
function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

/** The newest email to `address` since `since` whose body matches, waiting for work done after the response. */
async function mailMatching(address: string, since: number, pattern: RegExp) {
  for (let i = 0; i < 60; i++) {
    const found = (await emailsTo(address, since)).find((m) => pattern.test(m.textBody));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no email to ${address} matching ${pattern}`);
}

/**
 * A client of a default-mode firm with a login, an admin signed in, and one of each credential that can
 * be mailed to the client, each checked to work before the action under test:
 * - an unclaimed staff link and an unclaimed self-service link (their page offers "Continue"),
 * - a link claimed by one browser, which re-posting on that browser turns into a fresh link session,
 * - a password-reset token and an email-verification token (their pages offer the form).
 * The verification token is asked for before the login exists (that is when the app sends one).
 */
async function mailedCredentials(options: { twoFactor?: boolean; extraResetToken?: boolean } = {}) {
  const firm = await createFirm();
  const contact = await createContact(firm);
  const base = `/portal/${firm.slug}`;
  const visitor = new Browser(freshIp());
  const since = Date.now();

  expect((await visitor.post(`${base}/signup`, { intent: "request", email: contact.email })).status).toBe(200);
  const verificationToken = urlTokenIn((await mailMatching(contact.email, since, /signup\?token=/)).textBody);

  const account = await createPortalAccount(firm, contact);
  if (options.twoFactor) await enableTotp(portalOwner(account));

  const resetSince = Date.now();
  expect((await visitor.post(`${base}/forgot-password`, { email: contact.email })).status).toBe(200);
  const resetToken = urlTokenIn((await mailMatching(contact.email, resetSince, /forgot-password\?token=/)).textBody);
  let actionResetToken: string | null = null;
  if (options.extraResetToken) {
    const again = Date.now();
    expect((await visitor.post(`${base}/forgot-password`, { email: contact.email })).status).toBe(200);
    actionResetToken = urlTokenIn(
      (await mailMatching(contact.email, again, new RegExp(`forgot-password\\?token=(?!${resetToken})`))).textBody,
    );
  }

  const staffLink = await issueLink(firm, contact, "staff");
  const selfServiceLink = await issueLink(firm, contact, "self_service");
  const claimedLink = await issueLink(firm, contact, "staff");
  const claimer = new Browser(freshIp());
  expect((await claim(claimedLink, claimer)).response.status).toBe(302);

  // A password session in a second browser and a copy of its cookie: both must end with the action.
  const passwordBrowser = await clientBrowser(account, { twoFactor: options.twoFactor });
  const replay = new Browser(freshIp());
  replay.cookies.set(SESSION, passwordBrowser.cookies.get(SESSION)!);

  const admin = await createStaff(firm, { role: "admin" });
  const staff = await signInStaff(admin.email, PASSWORD, new Browser(freshIp()));

  const credentials = { staffLink, selfServiceLink, claimedLink, resetToken, verificationToken };
  const scenario = { firm, contact, account, base, staff, claimer, passwordBrowser, replay, credentials, actionResetToken };
  await expectCredentialsWork(scenario);
  return scenario;
}

type Scenario = {
  firm: TestFirm;
  contact: { id: string; email: string };
  account: { id: string; firmId: string; contactId: string };
  base: string;
  staff: Browser;
  claimer: Browser;
  passwordBrowser: Browser;
  replay: Browser;
  credentials: { staffLink: string; selfServiceLink: string; claimedLink: string; resetToken: string; verificationToken: string };
  actionResetToken: string | null;
};

/** Non-consuming checks that every mailed credential still works (so the test after the action can fail). */
async function expectCredentialsWork(s: Scenario) {
  for (const token of [s.credentials.staffLink, s.credentials.selfServiceLink]) {
    const page = await new Browser(freshIp()).fetch(`/l/${token}`);
    expect(await page.text()).toContain("Continue to");
  }
  // The claiming browser, without its session cookie, gets a fresh link session by re-posting.
  s.claimer.cookies.delete(SESSION);
  const reopened = await s.claimer.post(`/l/${s.credentials.claimedLink}`, { intent: "continue" });
  expect(reopened.status).toBe(302);
  expect(s.claimer.cookies.has(SESSION)).toBe(true);
  s.claimer.cookies.delete(SESSION);
  const reset = await new Browser(freshIp()).fetch(`${s.base}/forgot-password?token=${s.credentials.resetToken}`);
  expect(await reset.text()).toContain(`value="${s.credentials.resetToken}"`);
  const verify = await new Browser(freshIp()).fetch(`${s.base}/signup?token=${s.credentials.verificationToken}`);
  expect(await verify.text()).toContain(`value="${s.credentials.verificationToken}"`);
  const signedIn = [s.passwordBrowser, s.replay];
  for (const browser of signedIn) expect((await browser.fetch(`${s.base}/account`)).status).toBe(200);
}

/** After the action: every credential is refused on GET and on use, and no session comes of it. */
async function expectCredentialsDead(s: Scenario) {
  const passwordBefore = (await db.select().from(portalAccounts).where(eq(portalAccounts.id, s.account.id)))[0]?.passwordHash;
  for (const [kind, token] of [
    ["unclaimed staff link", s.credentials.staffLink],
    ["unclaimed self-service link", s.credentials.selfServiceLink],
  ] as const) {
    const browser = new Browser(freshIp());
    const page = await browser.fetch(`/l/${token}`);
    expect(await page.text(), kind).not.toContain("Continue to");
    const post = await browser.post(`/l/${token}`, { intent: "continue" });
    expect(post.status, kind).not.toBe(302);
    expect(browser.cookies.has(SESSION), kind).toBe(false);
  }

  s.claimer.cookies.delete(SESSION);
  const page = await s.claimer.fetch(`/l/${s.credentials.claimedLink}`);
  expect(await page.text(), "claimed link GET").not.toContain("Continue to");
  const repost = await s.claimer.post(`/l/${s.credentials.claimedLink}`, { intent: "continue" });
  expect(repost.status, "claimed link re-posted on its browser").toBe(410);
  expect(s.claimer.cookies.has(SESSION), "claimed link re-posted on its browser").toBe(false);

  const resetter = new Browser(freshIp());
  const resetPage = await resetter.fetch(`${s.base}/forgot-password?token=${s.credentials.resetToken}`);
  expect(await resetPage.text(), "reset token GET").not.toContain(`value="${s.credentials.resetToken}"`);
  const reset = await resetter.post(`${s.base}/forgot-password`, { intent: "reset", token: s.credentials.resetToken, password: NEW_PASSWORD });
  expect(reset.status, "reset token POST").toBe(400);
  expect(resetter.cookies.has(SESSION)).toBe(false);
  const [after] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, s.account.id));
  expect(after?.passwordHash ?? null, "the reset token did not set the password").toBe(passwordBefore ?? null);

  const verifier = new Browser(freshIp());
  const verifyPage = await verifier.fetch(`${s.base}/signup?token=${s.credentials.verificationToken}`);
  expect(await verifyPage.text(), "verification token GET").not.toContain(`value="${s.credentials.verificationToken}"`);
  const complete = await verifier.post(`${s.base}/signup`, { intent: "complete", token: s.credentials.verificationToken, password: NEW_PASSWORD });
  expect(complete.status, "verification token POST").toBe(400);
  expect(verifier.cookies.has(SESSION)).toBe(false);

  // The second browser and the replayed cookie are signed out.
  for (const browser of [s.passwordBrowser, s.replay]) {
    expect((await browser.fetch(`${s.base}/requests`)).status).toBe(302);
  }
}

function loginDetails(s: Scenario) {
  return `/app/contacts/${s.contact.id}/login-details`;
}

describe("rule 27: a login-email change voids everything mailed before", () => {
  it("unclaimed staff and self-service links, a claimed link on its browser, reset and verification tokens", async () => {
    const s = await mailedCredentials();
    const response = await s.staff.post(loginDetails(s), { intent: "change-email", email: `${uid("moved")}@client.test`, currentEmail: s.contact.email, confirm: "yes" });
    expect(response.status).toBe(200);
    await expectCredentialsDead(s);
  });

  it("the notice to the old address does not reveal the new one; the new address is told too", async () => {
    const s = await mailedCredentials();
    const newEmail = `${uid("moved")}@elsewhere.test`;
    const since = Date.now();
    await s.staff.post(loginDetails(s), { intent: "change-email", email: newEmail, currentEmail: s.contact.email, confirm: "yes" });
    const oldMail = await emailsTo(s.contact.email, since);
    expect(oldMail).toHaveLength(1);
    expect(oldMail[0].subject).toContain("login email was changed");
    for (const part of [newEmail, newEmail.split("@")[0], newEmail.split("@")[1]]) {
      expect(oldMail[0].textBody).not.toContain(part);
      expect(oldMail[0].subject).not.toContain(part);
    }
    const newMail = await emailsTo(newEmail, since);
    expect(newMail).toHaveLength(1);
    expect(newMail[0].subject).toContain("login email was changed");
  });

  it("a token is valid only for the address it was sent to, even if the address changes behind the app's back", async () => {
    // No app path changes an address without bumping the revocation epoch; this checks the second lock.
    const s = await mailedCredentials();
    const moved = `${uid("moved")}@client.test`;
    await db.update(contacts).set({ email: moved }).where(eq(contacts.id, s.contact.id));
    await db.update(portalAccounts).set({ email: moved }).where(eq(portalAccounts.id, s.account.id));
    const fresh = new Browser(freshIp());
    expect(await (await fresh.fetch(`/l/${s.credentials.staffLink}`)).text()).not.toContain("Continue to");
    expect((await fresh.post(`/l/${s.credentials.staffLink}`, { intent: "continue" })).status).toBe(410);
    s.claimer.cookies.delete(SESSION);
    expect((await s.claimer.post(`/l/${s.credentials.claimedLink}`, { intent: "continue" })).status).toBe(410);
    const reset = await fresh.post(`${s.base}/forgot-password`, { intent: "reset", token: s.credentials.resetToken, password: NEW_PASSWORD });
    expect(reset.status).toBe(400);
    expect(fresh.cookies.has(SESSION)).toBe(false);
  });
});

describe("rule 27: a password reset voids everything mailed before", () => {
  it("unclaimed staff and self-service links, a claimed link on its browser, other reset and verification tokens", async () => {
    const s = await mailedCredentials({ extraResetToken: true });
    const resetter = new Browser(freshIp());
    const response = await resetter.post(`${s.base}/forgot-password`, { intent: "reset", token: s.actionResetToken!, password: "the client's own new passphrase" });
    expect(response.status).toBe(302);
    expect(resetter.cookies.has(SESSION)).toBe(true);
    await expectCredentialsDead(s);
  });
});

describe("rule 27: deactivating a client's 2FA voids everything mailed before", () => {
  it("unclaimed staff and self-service links, a claimed link on its browser, reset and verification tokens", async () => {
    const s = await mailedCredentials({ twoFactor: true });
    const response = await s.staff.post(loginDetails(s), { intent: "deactivate-2fa", reason: "Lost their phone", confirm: "yes" });
    expect(response.status).toBe(200);
    await expectCredentialsDead(s);
  });
});

describe("rule 27: the client's own recovery code or 2FA switch-off voids everything mailed before", () => {
  it("a recovery code: unclaimed links, a claimed link on its browser, reset and verification tokens", async () => {
    const s = await mailedCredentials({ twoFactor: true });
    const codes = generateRecoveryCodes();
    await runBatch(db, await replaceRecoveryCodes(db, env, s.account.id, codes, Date.now()));
    const lost = new Browser(freshIp());
    expect((await lost.post(`${s.base}/login`, { email: s.contact.email, password: PASSWORD })).status).toBe(302);
    expect((await lost.post(`${s.base}/recovery`, { code: codes[0] })).status).toBe(302);
    await expectCredentialsDead(s);
  });

  it("turning 2FA off on the account page (with a current code): the same", async () => {
    const s = await mailedCredentials();
    const secret = await enableTotp(portalOwner(s.account));
    const own = await clientBrowser(s.account, { twoFactor: true });
    const response = await own.post(`${s.base}/account`, { intent: "disable-2fa", code: codeNow(secret) });
    expect(response.status, await response.clone().text()).toBeLessThan(400);
    await expectCredentialsDead(s);
  });
});

describe("rule 27: sign out of all devices voids everything mailed before", () => {
  it("by staff: unclaimed links, a claimed link on its browser, reset and verification tokens", async () => {
    const s = await mailedCredentials();
    expect((await s.staff.post(loginDetails(s), { intent: "sign-out", confirm: "yes" })).status).toBe(200);
    await expectCredentialsDead(s);
  });

  it("by the client on their account page: the same", async () => {
    const s = await mailedCredentials();
    const own = await clientBrowser(s.account);
    const response = await own.post(`${s.base}/account`, { intent: "sign-out-all" });
    expect(response.status).toBe(302);
    expect((await own.fetch(`${s.base}/requests`)).status).toBe(302);
    await expectCredentialsDead(s);
  });
});

describe("rule 27: deleting a contact voids everything mailed before", () => {
  it("unclaimed links, a claimed link on its browser, reset and verification tokens; restoring brings none back", async () => {
    const s = await mailedCredentials();
    expect((await s.staff.post(`/app/contacts/${s.contact.id}`, { intent: "delete" })).status).toBe(200);
    await expectCredentialsDead(s);
    // Restoring the contact brings the login back, not what was mailed before the deletion.
    expect((await s.staff.post(`/app/contacts/${s.contact.id}`, { intent: "restore" })).status).toBe(200);
    await expectCredentialsDead(s);
  });
});

describe("rule 27: parallel login-email changes by two admins", () => {
  it("exactly one wins; account, contact, audit log and emails agree with the winner", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const admins = await Promise.all([createStaff(firm, { role: "admin" }), createStaff(firm, { role: "admin" })]);
    const browsers = await Promise.all(admins.map((a) => signInStaff(a.email, PASSWORD, new Browser(freshIp()))));
    const targets = [`${uid("first")}@client.test`, `${uid("second")}@client.test`];
    const since = Date.now();
    const responses = await Promise.all(
      browsers.map((b, i) => b.post(`/app/contacts/${contact.id}/login-details`, { intent: "change-email", email: targets[i], currentEmail: contact.email, confirm: "yes" })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = targets[responses.findIndex((r) => r.status === 200)];
    const loser = targets.find((t) => t !== winner)!;

    const [accountRow] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    const [contactRow] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(accountRow.email).toBe(winner);
    expect(contactRow.email).toBe(winner);
    const events = await db.select().from(auditEvents).where(eq(auditEvents.contactId, contact.id));
    const changes = events.filter((e) => e.type === "client.login_email_changed");
    expect(changes).toHaveLength(1);
    expect(JSON.parse(changes[0].detail!)).toMatchObject({ from: contact.email, to: winner });
    const mail = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
    const sent = mail.filter((m) => m.createdAt >= since).map((m) => m.toAddress).sort();
    expect(sent).toEqual([contact.email, winner].sort());
    expect(sent).not.toContain(loser);
  });

  it("when both changes pass every check before either writes, the batch guard still lets exactly one through", async () => {
    // Called in-process so both reads happen before either batch: only the epoch guard can decide.
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const admins = await Promise.all([createStaff(firm, { role: "admin" }), createStaff(firm, { role: "admin" })]);
    const targets = [`${uid("first")}@client.test`, `${uid("second")}@client.test`];
    const meta = { ip: "203.0.113.1", userAgent: "test" };
    const results = await Promise.all(
      admins.map((staff, i) =>
        changeLoginEmail(db, { firm, staff, session: null } as unknown as StaffAuth, contact.id, { email: targets[i], currentEmail: contact.email }, meta),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, status: 409 });
    const winner = targets[results.findIndex((r) => r.ok)];
    const [accountRow] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    const [contactRow] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect([accountRow.email, contactRow.email]).toEqual([winner, winner]);
    expect(contactRow.credentialEpoch).toBe(contact.credentialEpoch + 1);
    const changes = (await db.select().from(auditEvents).where(eq(auditEvents.contactId, contact.id))).filter((e) => e.type === "client.login_email_changed");
    expect(changes.map((e) => JSON.parse(e.detail!))).toEqual([{ from: contact.email, to: winner }]);
    const mail = (await db.select().from(outbox).where(eq(outbox.firmId, firm.id))).map((m) => m.toAddress).sort();
    expect(mail).toEqual([contact.email, winner].sort());
  });

  it("two admins moving two clients to the same address: one wins, the other gets a clear 409, never a 500", async () => {
    const firm = await createFirm();
    const pair = await Promise.all([createContact(firm), createContact(firm)]);
    const accounts = await Promise.all(pair.map((c) => createPortalAccount(firm, c)));
    const admins = await Promise.all([createStaff(firm, { role: "admin" }), createStaff(firm, { role: "admin" })]);
    const browsers = await Promise.all(admins.map((a) => signInStaff(a.email, PASSWORD, new Browser(freshIp()))));
    const target = `${uid("shared")}@client.test`;
    const responses = await Promise.all(
      browsers.map((b, i) => b.post(`/app/contacts/${pair[i].id}/login-details`, { intent: "change-email", email: target, currentEmail: pair[i].email, confirm: "yes" })),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    const rows = await Promise.all(accounts.map(async (a) => (await db.select().from(portalAccounts).where(eq(portalAccounts.id, a.id)))[0]));
    expect(rows.filter((r) => r.email === target)).toHaveLength(1);
  });
});

/** Moves a claimed link (and the session it made) `days` into the past, as if that much time had gone by. */
async function ageLink(token: string, contactId: string, days: number) {
  const [link] = await db.select().from(accessLinks).where(eq(accessLinks.contactId, contactId));
  const shift = days * DAY;
  await db
    .update(accessLinks)
    .set({
      createdAt: link.createdAt - shift,
      expiresAt: link.expiresAt - shift,
      claimedAt: link.claimedAt === null ? null : link.claimedAt - shift,
      sessionExpiresAt: link.sessionExpiresAt === null ? null : link.sessionExpiresAt - shift,
    })
    .where(eq(accessLinks.id, link.id));
  expect(token).toHaveLength(43);
}

describe("rule 4 and rule 5: a claimed link's page answers the same on GET and POST", () => {
  async function claimedLink(firm?: TestFirm) {
    const f = firm ?? (await createFirm());
    const contact = await createContact(f);
    const token = await issueLink(f, contact, "staff");
    const owner = new Browser(freshIp());
    expect((await claim(token, owner)).response.status).toBe(302);
    owner.cookies.delete(SESSION);
    return { firm: f, contact, token, owner };
  }

  async function getThenPost(browser: Browser, token: string) {
    browser.cookies.delete(SESSION);
    const get = await browser.fetch(`/l/${token}`);
    const html = await get.text();
    const post = await browser.post(`/l/${token}`, { intent: "continue" });
    return { get, html, post, session: browser.cookies.has(SESSION) };
  }

  it("day 1: the claiming browser continues; another browser is declined on GET already", async () => {
    const { token, owner } = await claimedLink();
    const mine = await getThenPost(owner, token);
    expect(mine.html).toContain("Continue to");
    expect(mine.post.status).toBe(302);
    expect(mine.session).toBe(true);
    const other = await getThenPost(new Browser(freshIp()), token);
    expect(other.html).toContain("This link was opened on another device");
    expect(other.html).toContain("Email me a new link");
    expect(other.post.status).toBe(410);
    expect(other.session).toBe(false);
  });

  it("day 16 (past the unclaimed expiry): the claiming browser still continues on GET and POST", async () => {
    const { contact, token, owner } = await claimedLink();
    await ageLink(token, contact.id, 16);
    const mine = await getThenPost(owner, token);
    expect(mine.html).toContain("Continue to");
    expect(mine.html).not.toContain("This link has expired");
    expect(mine.post.status).toBe(302);
    expect(mine.session).toBe(true);
    const other = await getThenPost(new Browser(freshIp()), token);
    expect(other.html).toContain("This link was opened on another device");
    expect(other.post.status).toBe(410);
    expect(other.session).toBe(false);
  });

  it("day 31 (past 30 days from the claim): both browsers are told it expired, on GET and on POST", async () => {
    const { contact, token, owner } = await claimedLink();
    await ageLink(token, contact.id, 31);
    for (const browser of [owner, new Browser(freshIp())]) {
      const result = await getThenPost(browser, token);
      expect(result.html).toContain("This link has expired");
      expect(result.html).toContain("Email me a new link");
      expect(result.post.status).toBe(410);
      expect(result.session).toBe(false);
    }
  });

  it("an unclaimed link past its expiry says expired on GET and refuses the POST", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact, "staff");
    await ageLink(token, contact.id, 15);
    const result = await getThenPost(new Browser(freshIp()), token);
    expect(result.html).toContain("This link has expired");
    expect(result.post.status).toBe(410);
    expect(result.session).toBe(false);
  });
});

describe("rule 27: a link session is scoped to requests and never reaches the account page", () => {
  async function linkSession(securityMode?: "magic_link_and_login" | "magic_link_only", withAccount = true) {
    const firm = await createFirm({ securityMode });
    const contact = await createContact(firm);
    const account = withAccount ? await createPortalAccount(firm, contact) : null;
    const { browser } = await claim(await issueLink(firm, contact), new Browser(freshIp()));
    const base = `/portal/${firm.slug}`;
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    return { firm, contact, account, browser, base };
  }

  it("GET and every POST intent of /account are sent elsewhere, and nothing changes", async () => {
    for (const [mode, withAccount] of [
      ["magic_link_and_login", true],
      ["magic_link_and_login", false],
      ["magic_link_only", true],
    ] as const) {
      const { contact, account, browser, base } = await linkSession(mode, withAccount);
      const password = account ? await clientBrowser(account) : null;
      const get = await browser.fetch(`${base}/account`);
      expect(get.status, `${mode} GET`).toBe(302);
      expect(get.headers.get("location"), `${mode} GET`).not.toContain("/account");
      for (const form of [{ intent: "sign-out-all" }, { intent: "disable-2fa", code: "123456" }, { intent: "nonsense" }, {}] as Record<string, string>[]) {
        const post = await browser.post(`${base}/account`, form);
        expect(post.status, `${mode} POST ${JSON.stringify(form)}`).toBe(302);
        expect(post.headers.get("location")).not.toContain("/account");
      }
      // The link session itself still opens requests, the password session still works, nothing was logged.
      expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
      // (In links-only mode password sessions open nothing anyway.)
      if (password && mode !== "magic_link_only") expect((await password.fetch(`${base}/requests`)).status, mode).toBe(200);
      const events = await db.select().from(auditEvents).where(eq(auditEvents.contactId, contact.id));
      expect(events.map((e) => e.type)).not.toContain("client.signed_out_everywhere");
      const live = await db.select().from(sessions).where(eq(sessions.contactId, contact.id));
      expect(live.length).toBe(account ? 2 : 1);
    }
  });

  it("a link session is sent to sign in (with a login), to create a login (without), or back to requests (links only)", async () => {
    const withLogin = await linkSession("magic_link_and_login", true);
    expect((await withLogin.browser.fetch(`${withLogin.base}/account`)).headers.get("location")).toMatch(/\/login\?email=/);
    const withoutLogin = await linkSession("magic_link_and_login", false);
    expect((await withoutLogin.browser.fetch(`${withoutLogin.base}/account`)).headers.get("location")).toBe(`${withoutLogin.base}/signup`);
    const linksOnly = await linkSession("magic_link_only", true);
    expect((await linksOnly.browser.fetch(`${linksOnly.base}/account`)).headers.get("location")).toBe(`${linksOnly.base}/requests`);
  });

  it("a password session still opens the account page and its actions", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const browser = await clientBrowser(account);
    const page = await browser.fetch(`/portal/${firm.slug}/account`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Sign out of all devices");
  });
});

describe("rule 27: what a revoked contact's claimed link could mint is gone, even for a parallel claim", () => {
  it("a re-post racing a sign-out-everywhere never leaves a live link session behind", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const token = await issueLink(firm, contact);
    const owner = new Browser(freshIp());
    await claim(token, owner);
    owner.cookies.delete(SESSION);
    const client = await clientBrowser(account);
    await Promise.all([owner.post(`/l/${token}`, { intent: "continue" }), client.post(`/portal/${firm.slug}/account`, { intent: "sign-out-all" })]);
    const live = await db.select().from(sessions).where(eq(sessions.contactId, contact.id));
    expect(live).toHaveLength(0);
    owner.cookies.delete(SESSION);
    expect((await owner.post(`/l/${token}`, { intent: "continue" })).status).toBe(410);
  });
});
