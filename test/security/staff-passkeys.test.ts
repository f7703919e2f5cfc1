// Staff passkeys through the worker: sign-in at /login without an email, "Require 2FA for all staff"
// satisfied by a passkey with user verification (SECURITY.md rules 33-35 for staff), and the account page.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { firms, sessions, staffUsers, webauthnCredentials } from "../../db/schema";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { SoftAuthenticator, optionsFor, passkeyPost, registerPasskey, signInWithPasskey } from "../support/webauthn";

/**
 * A browser from its own network (a random IPv6 /64): the per-IP sign-in throttles count per network,
 * and test files running side by side must not throttle each other's browsers.
 */
function newBrowser(): Browser {
  const group = () => Math.floor(Math.random() * 0xffff).toString(16);
  return new Browser(`2001:db8:${group()}:${group()}::15`);
}

async function staffWithPasskey(options: { required?: boolean } = {}) {
  const firm = await createFirm();
  const staff = await createStaff(firm, { role: "member" });
  const authenticator = await SoftAuthenticator.create();
  const browser = await signInStaff(staff.email, PASSWORD, newBrowser());
  const added = await registerPasskey(browser, "/app/account", authenticator);
  expect(added.status, await added.clone().text()).toBe(200);
  if (options.required) await db.update(firms).set({ staffTwoFactorRequired: true }).where(eq(firms.id, firm.id));
  return { firm, staff, authenticator };
}

async function body(response: Response) {
  return (await response.json()) as { ok: boolean; redirectTo?: string; error?: string };
}

describe("staff passkeys", () => {
  it("a staff member adds a passkey on the account page and signs in with it at /login without an email", async () => {
    const { staff, authenticator } = await staffWithPasskey();
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.staffUserId, staff.id));
    expect(stored).toMatchObject({ portalAccountId: null, firmId: staff.firmId, name: "Test laptop" });
    const browser = newBrowser();
    const response = await signInWithPasskey(browser, "/login", authenticator);
    expect(await body(response)).toEqual({ ok: true, redirectTo: "/app/contacts" });
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
    expect(await (await browser.fetch("/app/account")).text()).toContain("Test laptop");
  });

  it("a staff key whose y starts with a zero byte (about one key in 256) signs in", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm, { role: "member" });
    const authenticator = await SoftAuthenticator.create({ shortCoordinate: "y" });
    const added = await registerPasskey(await signInStaff(staff.email, PASSWORD, newBrowser()), "/app/account", authenticator);
    expect(added.status, await added.clone().text()).toBe(200);
    const browser = newBrowser();
    expect(await body(await signInWithPasskey(browser, "/login", authenticator))).toEqual({ ok: true, redirectTo: "/app/contacts" });
  });

  it("rule 35: under \"Require 2FA for all staff\" a passkey with UV is enough; without UV the session waits at /login/2fa", async () => {
    const { authenticator } = await staffWithPasskey({ required: true });
    const verified = newBrowser();
    expect(await body(await signInWithPasskey(verified, "/login", authenticator))).toEqual({ ok: true, redirectTo: "/app/contacts" });
    // Not sent to set up an authenticator app: the passkey is the second factor.
    expect((await verified.fetch("/app/contacts")).status).toBe(200);

    const unverified = newBrowser();
    const response = await signInWithPasskey(unverified, "/login", authenticator, { uv: false });
    expect((await body(response)).redirectTo).toBe("/login/2fa?redirectTo=%2Fapp%2Fcontacts");
    expect((await unverified.fetch("/app/contacts")).headers.get("location")).toMatch(/^\/login\/2fa/);
    const noUv = await passkeyPost(unverified, "/login", { intent: "step", credential: await authenticator.assert(await optionsFor(unverified, "/login", "step-options"), { uv: false }) });
    expect(noUv.status).toBe(401);
    expect((await unverified.fetch("/app/contacts")).headers.get("location")).toMatch(/^\/login\/2fa/);
    const step = await passkeyPost(unverified, "/login", { intent: "step", credential: await authenticator.assert(await optionsFor(unverified, "/login", "step-options")) });
    expect((await body(step)).redirectTo).toBe("/app/contacts");
    expect((await unverified.fetch("/app/contacts")).status).toBe(200);
  });

  it("under \"Require 2FA for all staff\", a password sign-in of a staff member with a passkey asks for the passkey", async () => {
    const { staff, authenticator } = await staffWithPasskey({ required: true });
    const browser = newBrowser();
    const signedIn = await browser.post("/login", { email: staff.email, password: PASSWORD });
    expect(signedIn.headers.get("location")).toMatch(/^\/login\/2fa/);
    expect(await (await browser.fetch("/login/2fa")).text()).toContain("Confirm with your passkey");
    expect((await browser.fetch("/app/contacts")).headers.get("location")).toMatch(/^\/login\/2fa/);
    const step = await passkeyPost(browser, "/login", { intent: "step", credential: await authenticator.assert(await optionsFor(browser, "/login", "step-options")) });
    expect(step.status).toBe(200);
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
  });

  it("rule 34: a client's passkey does not sign in staff, a staff passkey does not sign in to a portal, a deactivated staff member's is refused", async () => {
    const { firm, staff, authenticator } = await staffWithPasskey();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const clientAuthenticator = await SoftAuthenticator.create();
    expect((await registerPasskey(await clientBrowser(account, { twoFactor: true }), `/portal/${firm.slug}`, clientAuthenticator)).status).toBe(200);
    const asStaff = newBrowser();
    expect((await signInWithPasskey(asStaff, "/login", clientAuthenticator)).status).toBe(401);
    expect(asStaff.cookies.has("__Host-staff_session")).toBe(false);
    const asClient = newBrowser();
    expect((await signInWithPasskey(asClient, `/portal/${firm.slug}`, authenticator)).status).toBe(401);
    expect(asClient.cookies.has("__Host-portal_session")).toBe(false);
    await db.update(staffUsers).set({ deactivatedAt: Date.now() }).where(eq(staffUsers.id, staff.id));
    expect((await signInWithPasskey(newBrowser(), "/login", authenticator)).status).toBe(401);
  });

  it("rule 33: a staff assertion for another origin or RP ID, or a replayed one, is refused", async () => {
    const { authenticator } = await staffWithPasskey();
    expect((await signInWithPasskey(newBrowser(), "/login", authenticator, { origin: "http://evil.test" })).status).toBe(403);
    expect((await signInWithPasskey(newBrowser(), "/login", authenticator, { rpId: "evil.test" })).status).toBe(403);
    const browser = newBrowser();
    const options = await optionsFor<{ challenge: string }>(browser, "/login", "sign-in-options");
    const credential = await authenticator.assert(options);
    expect((await passkeyPost(browser, "/login", { intent: "sign-in", credential })).status).toBe(200);
    expect((await passkeyPost(browser, "/login", { intent: "sign-in", credential })).status).toBe(400);
  });

  it("adding a passkey needs a recent password (rule 18); removing one ends the other sessions", async () => {
    const { staff, authenticator } = await staffWithPasskey();
    const browser = await signInStaff(staff.email, PASSWORD, newBrowser());
    const other = await signInStaff(staff.email, PASSWORD, newBrowser());
    const old = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: old, reauthenticatedAt: old }).where(eq(sessions.staffUserId, staff.id));
    expect((await passkeyPost(browser, "/app/account", { intent: "register-options" })).status).toBe(403);
    const [stored] = await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.staffUserId, staff.id));
    const stale = await browser.post("/app/account", { intent: "remove-passkey", id: stored.id });
    expect(stale.headers.get("location")).toMatch(/^\/app\/reauthenticate/);
    expect((await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: "/app/account" })).status).toBe(302);
    const removed = await browser.post("/app/account", { intent: "remove-passkey", id: stored.id });
    expect(removed.headers.get("location")).toBe("/app/account?notice=passkey-removed");
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.staffUserId, staff.id))).toEqual([]);
    expect((await other.fetch("/app/contacts")).status).toBe(302);
    expect((await signInWithPasskey(newBrowser(), "/login", authenticator)).status).toBe(401);
  });

  it("bad ceremony bodies at /login/passkey and /app/account/passkey get 4xx, never 500", async () => {
    const { staff } = await staffWithPasskey();
    const signedIn = await signInStaff(staff.email, PASSWORD, newBrowser());
    for (const [who, base] of [[newBrowser(), "/login"], [signedIn, "/login"], [signedIn, "/app/account"], [newBrowser(), "/app/account"]] as const) {
      for (const payload of ["", "nope", "{}", JSON.stringify({ intent: "sign-in", credential: { id: "x" } }), JSON.stringify({ intent: "register", credential: {} }), "x".repeat(40_000)]) {
        const response = await passkeyPost(who, base, payload);
        expect([400, 401, 403, 413, 422], `${base} ${payload.slice(0, 30)}`).toContain(response.status);
      }
    }
  });
});
