// Passkeys through the worker (SECURITY.md rules 33-35, PRODUCT.md "Passkeys"): registration and sign-in
// with a software authenticator that signs real assertions, and the attacker's variations of each.
import { encodeBase64 } from "@oslojs/encoding";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createReader } from "../../app/server/read-batch.server";
import { auditEvents, contacts, firms, portalAccounts, sessions, webauthnChallenges, webauthnCredentials, type SecurityMode } from "../../db/schema";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { emailsTo } from "../support/portal";
import { diffStorage, snapshotStorage } from "../support/snapshot";
import { codeNow, enableTotp, portalOwner } from "../support/two-factor";
import { portalAdoption } from "../../app/server/staff/adoption.server";
import { headsUpAudience } from "../../app/server/staff/heads-up.server";
import { SoftAuthenticator, optionsFor, passkeyPost, registerPasskey, signInWithPasskey } from "../support/webauthn";

/**
 * A browser from its own network (a random IPv6 /64): the per-IP sign-in throttles count per network,
 * and test files running side by side must not throttle each other's browsers.
 */
function newBrowser(): Browser {
  const group = () => Math.floor(Math.random() * 0xffff).toString(16);
  return new Browser(`2001:db8:${group()}:${group()}::15`);
}

async function client(mode: SecurityMode = "magic_link_and_login") {
  const firm = await createFirm({ securityMode: mode });
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  return { firm, contact, account, base: `/portal/${firm.slug}` };
}

/** A client with a registered passkey (added from the account page of a fresh, 2FA-passed session). */
async function clientWithPasskey(mode: SecurityMode = "magic_link_and_login") {
  const c = await client(mode);
  const authenticator = await SoftAuthenticator.create();
  const browser = await clientBrowser(c.account, { twoFactor: true });
  const response = await registerPasskey(browser, c.base, authenticator);
  expect(response.status, await response.clone().text()).toBe(200);
  return { ...c, authenticator };
}

async function sessionCount(accountId: string): Promise<number> {
  return (await db.select().from(sessions).where(eq(sessions.portalAccountId, accountId))).length;
}

async function json(response: Response): Promise<{ ok: boolean; redirectTo?: string; error?: string }> {
  return (await response.json()) as { ok: boolean; redirectTo?: string; error?: string };
}

describe("passkeys: registration and sign-in", () => {
  it("a client adds a passkey from the account page, then signs in with it without typing an email", async () => {
    const started = Date.now();
    const { firm, contact, account, base, authenticator } = await clientWithPasskey();
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id));
    expect(stored).toMatchObject({ firmId: firm.id, staffUserId: null, credentialId: authenticator.id, name: "Test laptop", algorithm: -7, backupEligible: true, backedUp: true });
    // A random user handle, not the email.
    expect(stored.userHandle).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored.userHandle).not.toContain(contact.email);
    expect((await emailsTo(account.email, started)).map((m) => m.subject)).toContain(`${firm.name} portal: a passkey was added`);
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "client.passkey_added")));
    expect(events).toHaveLength(1);

    const browser = new Browser("198.51.100.77");
    const response = await signInWithPasskey(browser, base, authenticator);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ ok: true, redirectTo: `${base}/requests` });
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    expect((await browser.fetch(`${base}/account`)).status).toBe(200);
    const [used] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.id, stored.id));
    expect(used.signCount).toBe(1);
    expect(used.lastUsedAt).not.toBeNull();
    const [signedIn] = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "client.signed_in")));
    expect(JSON.parse(signedIn.detail!)).toMatchObject({ factor: "passkey", passkey: "Test laptop", userVerified: true });
    // Portal adoption counts it as a passkey sign-in, not as "Other".
    const adoption = await portalAdoption(createReader(db), { firmId: firm.id });
    expect(adoption.recent).toMatchObject({ any: 1, passkey: 1, other: 0 });
    expect(adoption.weeks.at(-1)).toMatchObject({ passkey: 1, other: 0 });
  });

  it("the account page lists passkeys (name, synced or device-bound) and removes one", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    const browser = await clientBrowser(account, { twoFactor: true });
    const page = await (await browser.fetch(`${base}/account`)).text();
    expect(page).toContain("Test laptop");
    expect(page).toContain("Synced");
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id));
    const other = await clientBrowser(account, { twoFactor: true });
    const removed = await browser.post(`${base}/account`, { intent: "remove-passkey", id: stored.id });
    expect(removed.status).toBe(200);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toEqual([]);
    // The client's other sessions end with it.
    expect((await other.fetch(`${base}/requests`)).status).toBe(302);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    const types = (await db.select().from(auditEvents).where(eq(auditEvents.type, "client.passkey_removed"))).filter((e) => e.actorLabel === account.email);
    expect(types).toHaveLength(1);
    void authenticator;
  });

  it("adding or removing a passkey needs a recent sign-in: an older session confirms its password first", async () => {
    const { account, base } = await client();
    const browser = await clientBrowser(account, { twoFactor: true, ip: newBrowser().ip });
    // The session is 20 minutes old.
    const old = Date.now() - 20 * 60_000;
    await db.update(sessions).set({ createdAt: old, twoFactorVerifiedAt: old, lastSeenAt: Date.now() }).where(eq(sessions.portalAccountId, account.id));
    const refused = await passkeyPost(browser, base, { intent: "register-options" });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error).toMatch(/confirm it is you/i);
    expect((await browser.post(`${base}/account`, { intent: "reauthenticate", password: "wrong-password-123" })).status).toBe(401);
    const before = browser.cookies.get("__Host-portal_session");
    expect((await browser.post(`${base}/account`, { intent: "reauthenticate", password: PASSWORD })).status).toBe(200);
    expect(browser.cookies.get("__Host-portal_session")).not.toBe(before);
    expect((await registerPasskey(browser, base, await SoftAuthenticator.create())).status).toBe(200);
  });

  it("a registration without user verification is refused and stores nothing", async () => {
    const { account, base } = await client();
    const browser = await clientBrowser(account, { twoFactor: true });
    const response = await registerPasskey(browser, base, await SoftAuthenticator.create(), { uv: false });
    expect(response.status).toBe(422);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toEqual([]);
  });

  it("a forged signature and a counter that does not move forward are refused", async () => {
    const { base, authenticator } = await clientWithPasskey();
    const forger = await SoftAuthenticator.create();
    const forged = await signInWithPasskey(newBrowser(), base, authenticator, { signWith: forger.keys.privateKey });
    expect(forged.status).toBe(401);
    expect((await signInWithPasskey(newBrowser(), base, authenticator)).status).toBe(200);
    // A clone that still has the old counter.
    const cloned = await signInWithPasskey(newBrowser(), base, authenticator, { counter: 1 });
    expect(cloned.status).toBe(401);
  });
});

describe("passkeys whose public key has a coordinate with leading zero bytes (about one in 128 keys)", () => {
  // @oslojs/crypto 1.0.1 stored such a y shifted left; those clients could register but never sign in.
  for (const coordinate of ["x", "y"] as const) {
    it(`a key with a short ${coordinate} registers, is stored 65 bytes with ${coordinate} left-padded, and signs in`, async () => {
      const c = await client();
      const authenticator = await SoftAuthenticator.create({ shortCoordinate: coordinate });
      const registered = await registerPasskey(await clientBrowser(c.account, { twoFactor: true }), c.base, authenticator);
      expect(registered.status, await registered.clone().text()).toBe(200);
      const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, c.account.id));
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", authenticator.keys.publicKey));
      expect(stored.publicKey).toBe(encodeBase64(raw));
      const browser = newBrowser();
      expect((await signInWithPasskey(browser, c.base, authenticator)).status).toBe(200);
      expect((await browser.fetch(`${c.base}/requests`)).status).toBe(200);
    });
  }

  it("a key stored before the fix (y shifted left over its leading zero) still signs in, and a damaged key does not", async () => {
    const c = await client();
    const authenticator = await SoftAuthenticator.create({ shortCoordinate: "y" });
    expect((await registerPasskey(await clientBrowser(c.account, { twoFactor: true }), c.base, authenticator)).status).toBe(200);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", authenticator.keys.publicKey));
    const zeros = raw.slice(33).findIndex((b) => b !== 0);
    // The old layout: y's significant bytes right after x, zeros at the end.
    const slipped = new Uint8Array(65);
    slipped.set(raw.slice(0, 33));
    slipped.set(raw.slice(33 + zeros), 33);
    const setKey = (bytes: Uint8Array) => db.update(webauthnCredentials).set({ publicKey: encodeBase64(bytes) }).where(eq(webauthnCredentials.portalAccountId, c.account.id));
    await setKey(slipped);
    expect((await signInWithPasskey(newBrowser(), c.base, authenticator)).status).toBe(200);
    // Another point off the curve is not "repaired" into anything that verifies.
    const damaged = raw.slice();
    damaged[64] ^= 1;
    await setKey(damaged);
    expect((await signInWithPasskey(newBrowser(), c.base, authenticator)).status).toBe(401);
  });
});

describe("rule 33: WebAuthn challenges are single use, short-lived, in D1 and bound to who asked", () => {
  it("rule 33: a replayed assertion (its challenge already used) is refused", async () => {
    const { base, authenticator } = await clientWithPasskey();
    const browser = newBrowser();
    const options = await optionsFor<{ challenge: string }>(browser, base, "sign-in-options");
    const credential = await authenticator.assert(options);
    expect((await passkeyPost(browser, base, { intent: "sign-in", credential })).status).toBe(200);
    const replayer = newBrowser();
    replayer.cookies.set("__Host-device", browser.cookies.get("__Host-device")!);
    const replay = await passkeyPost(replayer, base, { intent: "sign-in", credential });
    expect(replay.status).toBe(400);
    expect(replayer.cookies.has("__Host-portal_session")).toBe(false);
  });

  it("rule 33: an expired challenge is refused (5 minutes)", async () => {
    const { base, authenticator } = await clientWithPasskey();
    const browser = newBrowser();
    const options = await optionsFor<{ challenge: string }>(browser, base, "sign-in-options");
    const [row] = await db.select().from(webauthnChallenges).where(eq(webauthnChallenges.expiresAt, (await db.select().from(webauthnChallenges)).map((r) => r.expiresAt).sort().at(-1)!));
    expect(row.expiresAt - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    await db.update(webauthnChallenges).set({ expiresAt: Date.now() - 1 }).where(eq(webauthnChallenges.challengeHash, row.challengeHash));
    const response = await passkeyPost(browser, base, { intent: "sign-in", credential: await authenticator.assert(options) });
    expect(response.status).toBe(400);
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
  });

  it("rule 33: a challenge asked for by another browser, or another session, is refused", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    // Sign-in: bound to the browser (device cookie) that asked.
    const asker = newBrowser();
    const options = await optionsFor<{ challenge: string }>(asker, base, "sign-in-options");
    const thief = newBrowser();
    const stolen = await passkeyPost(thief, base, { intent: "sign-in", credential: await authenticator.assert(options) });
    expect(stolen.status).toBe(400);
    expect(thief.cookies.has("__Host-portal_session")).toBe(false);
    // Registration: bound to the session that asked.
    const first = await clientBrowser(account, { twoFactor: true });
    const second = await clientBrowser(account, { twoFactor: true });
    const registration = await optionsFor(first, base, "register-options");
    const other = await SoftAuthenticator.create();
    const crossed = await passkeyPost(second, base, { intent: "register", credential: await other.register(registration), name: "x" });
    expect(crossed.status).toBe(400);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.credentialId, other.id))).toEqual([]);
    // A sign-in challenge cannot register, nor a registration challenge sign in.
    const signInChallenge = await optionsFor<{ challenge: string }>(first, base, "sign-in-options");
    const misuse = await passkeyPost(first, base, { intent: "register", credential: await other.register({ challenge: signInChallenge.challenge, user: { id: "x" } }), name: "x" });
    expect(misuse.status).toBe(400);
  });

  it("rule 33: a wrong origin is refused", async () => {
    const { base, authenticator } = await clientWithPasskey();
    for (const origin of ["https://portal.test", "http://evil.test", "http://portal.test:8080", "http://sub.portal.test", "http://portal.test.evil.test", "null", ""]) {
      const browser = newBrowser();
      const response = await signInWithPasskey(browser, base, authenticator, { origin });
      expect(response.status, origin).toBe(403);
      expect(browser.cookies.has("__Host-portal_session"), origin).toBe(false);
    }
    const crossOrigin = await signInWithPasskey(newBrowser(), base, authenticator, { crossOrigin: true });
    expect(crossOrigin.status).toBe(403);
    // Registration too.
    const { account } = await client();
    const browser = await clientBrowser(account, { twoFactor: true });
    expect((await registerPasskey(browser, `/portal/${(await db.select().from(firms).where(eq(firms.id, account.firmId)))[0].slug}`, await SoftAuthenticator.create(), { origin: "http://evil.test" })).status).toBe(403);
  });

  it("rule 33: a wrong RP ID is refused", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    for (const rpId of ["evil.test", "sub.portal.test", "portal.tes", "localhost", ""]) {
      const browser = newBrowser();
      const response = await signInWithPasskey(browser, base, authenticator, { rpId });
      expect(response.status, rpId).toBe(403);
      expect(browser.cookies.has("__Host-portal_session"), rpId).toBe(false);
    }
    const browser = await clientBrowser(account, { twoFactor: true });
    expect((await registerPasskey(browser, base, await SoftAuthenticator.create(), { rpId: "evil.test" })).status).toBe(403);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toHaveLength(1);
  });

  it("rule 33: an assertion of the wrong ceremony type is refused", async () => {
    const { base, authenticator } = await clientWithPasskey();
    expect((await signInWithPasskey(newBrowser(), base, authenticator, { type: "webauthn.create" })).status).toBe(422);
    expect((await signInWithPasskey(newBrowser(), base, authenticator, { up: false })).status).toBe(422);
  });
});

describe("rule 34: a passkey belongs to one account of one firm", () => {
  it("rule 34: a credential registered on firm A's portal is refused on firm B's", async () => {
    const a = await clientWithPasskey();
    // Firm B even has a client with the same address.
    const firmB = await createFirm();
    const contactB = await createContact(firmB, { email: a.contact.email });
    await createPortalAccount(firmB, contactB);
    const browser = newBrowser();
    const response = await signInWithPasskey(browser, `/portal/${firmB.slug}`, a.authenticator);
    expect(response.status).toBe(401);
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
    // Options asked on firm A's portal, answered on firm B's: refused as well.
    const options = await optionsFor<{ challenge: string }>(browser, a.base, "sign-in-options");
    const crossed = await passkeyPost(browser, `/portal/${firmB.slug}`, { intent: "sign-in", credential: await a.authenticator.assert(options) });
    expect(crossed.status).toBe(400);
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
    // On its own firm's portal it still works.
    expect((await signInWithPasskey(newBrowser(), a.base, a.authenticator)).status).toBe(200);
  });

  it("rule 34: a removed credential is refused", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    const browser = await clientBrowser(account, { twoFactor: true });
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id));
    expect((await browser.post(`${base}/account`, { intent: "remove-passkey", id: stored.id })).status).toBe(200);
    const response = await signInWithPasskey(newBrowser(), base, authenticator);
    expect(response.status).toBe(401);
  });

  it("rule 34: a credential of a deactivated account, or of a deleted contact, is refused", async () => {
    const deactivated = await clientWithPasskey();
    await db.update(portalAccounts).set({ deactivatedAt: Date.now() }).where(eq(portalAccounts.id, deactivated.account.id));
    expect((await signInWithPasskey(newBrowser(), deactivated.base, deactivated.authenticator)).status).toBe(401);
    const deleted = await clientWithPasskey();
    await db.update(contacts).set({ deletedAt: Date.now() }).where(eq(contacts.id, deleted.contact.id));
    expect((await signInWithPasskey(newBrowser(), deleted.base, deleted.authenticator)).status).toBe(401);
    expect(await sessionCount(deleted.account.id)).toBe(1);
  });

  it("rule 34: one client cannot remove another client's passkey", async () => {
    const victim = await clientWithPasskey();
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, victim.account.id));
    const attacker = await createPortalAccount(victim.firm, await createContact(victim.firm));
    const browser = await clientBrowser(attacker, { twoFactor: true });
    expect((await browser.post(`${victim.base}/account`, { intent: "remove-passkey", id: stored.id })).status).toBe(404);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.id, stored.id))).toHaveLength(1);
  });
});

describe("rule 35: a passkey satisfies the 2FA mode only with user verification", () => {
  it("rule 35: with user verification, a passkey alone gets a client in under the 2FA mode", async () => {
    const { base, authenticator } = await clientWithPasskey("magic_link_and_login_2fa");
    const browser = newBrowser();
    const response = await signInWithPasskey(browser, base, authenticator);
    expect(await json(response)).toEqual({ ok: true, redirectTo: `${base}/requests` });
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
  });

  it("rule 35: an assertion without the UV flag leaves the session at the 2FA step", async () => {
    const { account, base, authenticator } = await clientWithPasskey("magic_link_and_login_2fa");
    const browser = newBrowser();
    const response = await signInWithPasskey(browser, base, authenticator, { uv: false });
    expect(await json(response)).toEqual({ ok: true, redirectTo: `${base}/2fa` });
    for (const page of ["/requests", "/account"]) {
      const r = await browser.fetch(`${base}${page}`);
      expect(r.headers.get("location"), page).toBe(`${base}/2fa`);
    }
    // The step without UV is refused too; the session stays where it was.
    const stepOptions = await optionsFor<{ challenge: string }>(browser, base, "step-options");
    const noUv = await passkeyPost(browser, base, { intent: "step", credential: await authenticator.assert(stepOptions, { uv: false }) });
    expect(noUv.status).toBe(401);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
    // With UV it passes, with a new token.
    const before = browser.cookies.get("__Host-portal_session");
    const again = await optionsFor<{ challenge: string }>(browser, base, "step-options");
    const passed = await passkeyPost(browser, base, { intent: "step", credential: await authenticator.assert(again) });
    expect(await json(passed)).toEqual({ ok: true, redirectTo: `${base}/requests` });
    expect(browser.cookies.get("__Host-portal_session")).not.toBe(before);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    void account;
  });

  it("rule 35: a client who turned on 2FA in the default mode is asked for the code after a passkey without UV", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    const secret = await enableTotp(portalOwner(account));
    const browser = newBrowser();
    const response = await signInWithPasskey(browser, base, authenticator, { uv: false });
    expect((await json(response)).redirectTo).toBe(`${base}/2fa`);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
    expect((await browser.post(`${base}/2fa`, { code: codeNow(secret) })).headers.get("location")).toBe(`${base}/requests`);
  });

  it("a client with a passkey is not sent to set up an authenticator app: after the password, the passkey is the second step", async () => {
    const { contact, base, authenticator } = await clientWithPasskey("magic_link_and_login_2fa");
    const browser = newBrowser();
    const signedIn = await browser.post(`${base}/login`, { email: contact.email, password: PASSWORD });
    expect(signedIn.headers.get("location")).toBe(`${base}/2fa`);
    const page = await (await browser.fetch(`${base}/2fa`)).text();
    expect(page).toContain("Use your passkey");
    const options = await optionsFor<{ challenge: string; allowCredentials: Array<{ id: string }> }>(browser, base, "step-options");
    expect(options.allowCredentials.map((c) => c.id)).toEqual([authenticator.id]);
    const passed = await passkeyPost(browser, base, { intent: "step", credential: await authenticator.assert(options) });
    expect((await json(passed)).redirectTo).toBe(`${base}/requests`);
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
  });

  it("enrolment under the 2FA mode: adding a passkey passes the second factor and ends the other sessions", async () => {
    const { account, contact, base } = await client("magic_link_and_login_2fa");
    const other = await clientBrowser(account);
    const browser = newBrowser();
    expect((await browser.post(`${base}/login`, { email: contact.email, password: PASSWORD })).headers.get("location")).toBe(`${base}/2fa/setup`);
    expect(await (await browser.fetch(`${base}/2fa/setup`)).text()).toContain("The easier way: a passkey");
    const response = await registerPasskey(browser, base, await SoftAuthenticator.create());
    expect(await json(response)).toEqual({ ok: true, redirectTo: `${base}/requests` });
    expect((await browser.fetch(`${base}/requests`)).status).toBe(200);
    expect((await other.fetch(`${base}/requests`)).status).toBe(302);
  });

  it("a session at the 2FA step cannot add a passkey to skip the code", async () => {
    const { account, contact, base } = await client("magic_link_and_login_2fa");
    await enableTotp(portalOwner(account));
    const browser = newBrowser();
    await browser.post(`${base}/login`, { email: contact.email, password: PASSWORD });
    const refused = await passkeyPost(browser, base, { intent: "register-options" });
    expect(refused.status).toBe(403);
    expect((await browser.fetch(`${base}/requests`)).headers.get("location")).toBe(`${base}/2fa`);
  });
});

describe("passkeys and the modes", () => {
  it('"Magic link only": passkey sign-in is refused like passwords, and writes nothing', async () => {
    const { firm, base, authenticator } = await clientWithPasskey();
    const browser = newBrowser();
    const options = await optionsFor<{ challenge: string }>(browser, base, "sign-in-options");
    await db.update(firms).set({ securityMode: "magic_link_only" }).where(eq(firms.id, firm.id));
    const refusedOptions = await passkeyPost(browser, base, { intent: "sign-in-options" });
    expect(refusedOptions.status).toBe(403);
    const refused = await passkeyPost(browser, base, { intent: "sign-in", credential: await authenticator.assert(options) });
    expect(refused.status).toBe(403);
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
    // The login page offers links only: no passkey button.
    expect(await (await browser.fetch(`${base}/login`)).text()).not.toContain("Sign in with a passkey");
  });

  it("a passkey session ends when the firm switches to links only (the policy's switch)", async () => {
    const { firm, base, authenticator } = await clientWithPasskey();
    const browser = newBrowser();
    expect((await signInWithPasskey(browser, base, authenticator)).status).toBe(200);
    await db.update(firms).set({ securityMode: "magic_link_only" }).where(eq(firms.id, firm.id));
    expect((await browser.fetch(`${base}/requests`)).status).toBe(302);
  });
});

describe("passkey requests with bad input (rule 32)", () => {
  it("garbage, oversized and malformed bodies get 400/413/422, never 500, and change nothing", async () => {
    const { account, base, authenticator } = await clientWithPasskey();
    const browser = await clientBrowser(account, { twoFactor: true });
    const good = await authenticator.assert({ challenge: "AAAA" });
    const payloads: unknown[] = [
      "",
      "not json",
      "{",
      "null",
      "[]",
      "42",
      '"sign-in"',
      {},
      { intent: "nope" },
      { intent: "sign-in" },
      { intent: "sign-in", credential: null },
      { intent: "sign-in", credential: "x" },
      { intent: "sign-in", credential: { ...good, type: "password" } },
      { intent: "sign-in", credential: { ...good, id: "!!" } },
      { intent: "sign-in", credential: { ...good, response: { ...good.response, clientDataJSON: "AAAA" } } },
      { intent: "sign-in", credential: { ...good, response: { ...good.response, authenticatorData: "AAAA" } } },
      { intent: "sign-in", credential: { ...good, response: { ...good.response, signature: "x".repeat(5000) } } },
      { intent: "sign-in", credential: { ...good, rawId: "AAAA" } },
      { intent: "step", credential: { ...good, response: { ...good.response, clientDataJSON: btoa("[]") } } },
      { intent: "register", credential: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", attestationObject: "AAAA" } } },
      { intent: "register", credential: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", attestationObject: "oA" } } },
      { intent: "register", credential: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "AAAA", attestationObject: "/w" } }, name: 5 },
      { intent: "register", credential: good, name: "x".repeat(500) },
      "x".repeat(40_000),
      JSON.stringify({ intent: "sign-in", pad: "x".repeat(40_000) }),
    ];
    const before = await snapshotStorage({ ignoreColumns: { sessions: ["last_seen_at"] } });
    for (const payload of payloads) {
      for (const who of [browser, newBrowser()]) {
        const response = await passkeyPost(who, base, payload);
        const label = typeof payload === "string" ? payload.slice(0, 40) : JSON.stringify(payload).slice(0, 120);
        expect([400, 401, 403, 413, 422], label).toContain(response.status);
        expect((await response.json()) as object, label).toHaveProperty("ok", false);
      }
    }
    // A body that says it is huge is refused before it is read.
    const declared = await passkeyPost(newBrowser(), base, "{}", { "content-length": String(10 * 1024 * 1024) });
    expect([400, 413]).toContain(declared.status);
    expect(diffStorage(before, await snapshotStorage({ ignoreColumns: { sessions: ["last_seen_at"] } }))).toEqual([]);
  });

  it("a GET of the ceremony route is not a page and not a 500", async () => {
    const { base } = await client();
    const response = await newBrowser().fetch(`${base}/passkey`);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it("a cross-site ceremony post is refused (rule 28)", async () => {
    const { base, authenticator } = await clientWithPasskey();
    const browser = newBrowser();
    const options = await optionsFor<{ challenge: string }>(browser, base, "sign-in-options");
    const response = await passkeyPost(browser, base, { intent: "sign-in", credential: await authenticator.assert(options) }, { "sec-fetch-site": "cross-site", origin: "http://evil.test" });
    expect(response.status).toBe(403);
    expect(browser.cookies.has("__Host-portal_session")).toBe(false);
  });
});

describe("Edit login details: staff remove a client's passkeys (as deactivating 2FA)", () => {
  async function staffScenario(mode: SecurityMode = "magic_link_and_login_2fa") {
    const c = await clientWithPasskey(mode);
    const admin = await createStaff(c.firm, { role: "admin" });
    const staff = await signInStaff(admin.email, PASSWORD, newBrowser());
    return { ...c, admin, staff, path: `/app/contacts/${c.contact.id}/login-details` };
  }

  it("the Client portal section shows the count and last use; removal ends the client's sessions, is logged with the reason and emailed", async () => {
    const started = Date.now();
    const { firm, contact, account, base, authenticator, staff, path } = await staffScenario();
    const client = newBrowser();
    expect((await signInWithPasskey(client, base, authenticator)).status).toBe(200);
    const details = await (await staff.fetch(`/app/contacts/${contact.id}`)).text();
    expect(details).toMatch(/Passkeys<\/dt><dd>1, last used /);
    expect(await (await staff.fetch(path)).text()).toContain("Test laptop");
    // A reason and the confirmation are asked for.
    expect((await staff.post(path, { intent: "remove-passkeys", reason: "", confirm: "yes" })).status).toBe(422);
    expect((await staff.post(path, { intent: "remove-passkeys", reason: "Lost her phone" })).status).toBe(422);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toHaveLength(1);
    const removed = await staff.post(path, { intent: "remove-passkeys", reason: "Lost her phone", confirm: "yes" });
    expect(removed.status).toBe(200);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toEqual([]);
    expect((await client.fetch(`${base}/requests`)).status).toBe(302);
    expect((await signInWithPasskey(newBrowser(), base, authenticator)).status).toBe(401);
    const [event] = await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "client.passkeys_removed")));
    expect(JSON.parse(event.detail!)).toMatchObject({ reason: "Lost her phone", count: 1 });
    expect((await emailsTo(account.email, started)).map((m) => m.subject)).toContain(`${firm.name} portal: your passkeys were removed`);
    // Never less than the mode requires: with the password, the client is sent to set up a second factor.
    const back = newBrowser();
    expect((await back.post(`${base}/login`, { email: contact.email, password: PASSWORD })).headers.get("location")).toBe(`${base}/2fa/setup`);
  });

  it("rule 21: a member cannot remove a client's passkeys; rule 20: another firm's admin gets 404", async () => {
    const { firm, account, path } = await staffScenario();
    const member = await signInStaff((await createStaff(firm, { role: "member" })).email, PASSWORD, newBrowser());
    expect((await member.post(path, { intent: "remove-passkeys", reason: "no reason", confirm: "yes" })).status).toBe(403);
    const otherFirm = await createFirm();
    const stranger = await signInStaff((await createStaff(otherFirm, { role: "admin" })).email, PASSWORD, newBrowser());
    expect((await stranger.post(path, { intent: "remove-passkeys", reason: "no reason", confirm: "yes" })).status).toBe(404);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toHaveLength(1);
  });

  it("rule 18: removing a client's passkeys needs a recent staff sign-in", async () => {
    const { account, admin, staff, path } = await staffScenario();
    const old = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: old, reauthenticatedAt: old }).where(eq(sessions.staffUserId, admin.id));
    const response = await staff.post(path, { intent: "remove-passkeys", reason: "Lost her phone", confirm: "yes" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/app\/reauthenticate/);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toHaveLength(1);
  });
});

describe("passkeys in the firm's figures", () => {
  it("a client with a passkey counts as having a second factor: not among those the 2FA mode would stop, nor emailed a heads-up", async () => {
    const { firm, contact } = await clientWithPasskey();
    const without = await createContact(firm);
    await createPortalAccount(firm, without);
    const adoption = await portalAdoption(createReader(db), { firmId: firm.id });
    expect(adoption).toMatchObject({ accounts: 2, twoFactor: 1, mustEnrol: 1 });
    const audience = (await headsUpAudience(db, firm.id)).map((r) => r.email);
    expect(audience).toEqual([without.email]);
    expect(audience).not.toContain(contact.email);
  });
});

describe("passkey notices", () => {
  it("a passkey used from a new device: the client is emailed, naming the passkey; the same browser again is not news", async () => {
    const { firm, account, base, authenticator } = await clientWithPasskey();
    const laptop = newBrowser();
    expect((await signInWithPasskey(laptop, base, authenticator)).status).toBe(200);
    const started = Date.now();
    const phone = new Browser("198.51.100.200");
    expect((await signInWithPasskey(phone, base, authenticator)).status).toBe(200);
    const [notice] = (await emailsTo(account.email, started)).filter((m) => m.subject === `${firm.name} portal: new sign-in to your account`);
    expect(notice.textBody).toContain('Signed in with the passkey "Test laptop".');
    const again = Date.now();
    await phone.post(`${base}/logout`, {});
    expect((await signInWithPasskey(phone, base, authenticator)).status).toBe(200);
    expect((await emailsTo(account.email, again)).filter((m) => m.subject.includes("new sign-in"))).toEqual([]);
  });
});
