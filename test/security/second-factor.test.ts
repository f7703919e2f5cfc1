// SECURITY.md rules 12 and 14-17 (second factor), for the shared module and through the worker for staff.
import { env } from "cloudflare:workers";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { portalAccounts, sessions, staffUsers } from "../../db/schema";
import { replaceRecoveryCodes, generateRecoveryCodes } from "~/server/auth/recovery-codes.server";
import {
  beginEnrolment,
  confirmEnrolment,
  loadFactorState,
  verifyRecoveryAttempt,
  verifyTotpAttempt,
} from "~/server/auth/second-factor.server";
import { TOTP_LOCK_MS, codeForStep, currentStep, decryptTotpSecret } from "~/server/auth/totp.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";
import { codeNow, enableTotp, portalOwner, staffOwner, wrongCode } from "../support/two-factor";

const KEY = env;
const RECOVERY_KEY = env;
const COOKIE = "__Host-staff_session";

async function portalAccount() {
  const firm = await createFirm();
  const account = await createPortalAccount(firm, await createContact(firm));
  return portalOwner(account);
}

/** Reads the secret the way an authenticator app does: from the otpauth:// URI in the QR code. */
function secretOfUri(keyUri: string): Uint8Array {
  return decodeBase32IgnorePadding(new URL(keyUri).searchParams.get("secret")!);
}

describe("rule 12: enrolment saves the secret only after a valid code, and burns that code's step", () => {
  it("a wrong code saves nothing; the right one saves it; replaying it at sign-in fails", async () => {
    const owner = await portalAccount();
    const enrolment = await beginEnrolment(KEY, owner, { issuer: "Test", accountName: "a@b.test" });
    const secret = secretOfUri(enrolment.keyUri);

    expect(await confirmEnrolment(db, KEY, owner, enrolment.pendingToken, wrongCode(secret))).toEqual({ ok: false, reason: "invalid" });
    expect((await loadFactorState(db, owner))!.secret).toBeNull();

    const code = codeNow(secret);
    const confirmed = await confirmEnrolment(db, KEY, owner, enrolment.pendingToken, code);
    expect(confirmed.ok).toBe(true);
    const state = (await loadFactorState(db, owner))!;
    expect(state.enabledAt).not.toBeNull();
    expect(state.secret).not.toContain(enrolment.manualKey.replace(/ /g, ""));

    expect(await verifyTotpAttempt(db, KEY, owner, code)).toMatchObject({ ok: false, reason: "invalid" });
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret, 1))).toMatchObject({ ok: true });
  });

  it("a pending secret from another account's page cannot be confirmed", async () => {
    const [a, b] = [await portalAccount(), await portalAccount()];
    const enrolment = await beginEnrolment(KEY, a, { issuer: "Test", accountName: "a@b.test" });
    const code = codeNow(secretOfUri(enrolment.keyUri));
    expect(await confirmEnrolment(db, KEY, b, enrolment.pendingToken, code)).toEqual({ ok: false, reason: "expired" });
    expect((await loadFactorState(db, b))!.enabledAt).toBeNull();
  });
});

describe("rule 14: no replay", () => {
  it("the same valid code is accepted once", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    const code = codeNow(secret);
    expect(await verifyTotpAttempt(db, KEY, owner, code)).toMatchObject({ ok: true });
    expect(await verifyTotpAttempt(db, KEY, owner, code)).toMatchObject({ ok: false, reason: "invalid" });
    // An older step of the window is refused too once a newer one was used.
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret, -1))).toMatchObject({ ok: false });
  });

  it("two concurrent submissions of one code: exactly one passes", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    const code = codeNow(secret);
    const results = await Promise.all(Array.from({ length: 5 }, () => verifyTotpAttempt(db, KEY, owner, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("through the worker: the code used from one IP is refused from another IP", async () => {
    const { staff, secret } = await staffWithTotp();
    const first = await pendingBrowser(staff.email, "198.51.100.1");
    const second = await pendingBrowser(staff.email, "198.51.100.2");
    const code = codeNow(secret);
    expect((await first.post("/login/2fa", { code })).status).toBe(302);
    const replay = await second.post("/login/2fa", { code });
    expect(replay.status).toBe(401);
    expect((await second.fetch("/app/contacts")).status).toBe(302);
  });
});

describe("rule 15: secrets are bound to their owner", () => {
  it("a TOTP ciphertext copied onto another account fails to decrypt, and its codes do not pass there", async () => {
    const [a, b] = [await portalAccount(), await portalAccount()];
    const secret = await enableTotp(a);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, a.id));
    await db.update(portalAccounts).set({ totpSecret: row.totpSecret, totpEnabledAt: Date.now() }).where(eq(portalAccounts.id, b.id));
    expect(await decryptTotpSecret(KEY, b.firmId, b.id, row.totpSecret!)).toBeNull();
    expect(await verifyTotpAttempt(db, KEY, b, codeNow(secret))).toMatchObject({ ok: false });
    expect(await verifyTotpAttempt(db, KEY, a, codeNow(secret))).toMatchObject({ ok: true });
  });

  it("also between a staff member and a client of the same firm", async () => {
    const firm = await createFirm();
    const staff = staffOwner(await createStaff(firm));
    const client = portalOwner(await createPortalAccount(firm, await createContact(firm)));
    const secret = await enableTotp(staff);
    const [row] = await db.select().from(staffUsers).where(eq(staffUsers.id, staff.id));
    await db.update(portalAccounts).set({ totpSecret: row.totpSecret, totpEnabledAt: Date.now() }).where(eq(portalAccounts.id, client.id));
    expect(await verifyTotpAttempt(db, KEY, client, codeNow(secret))).toMatchObject({ ok: false });
  });
});

describe("rule 16: lockout", () => {
  it("after 5 wrong codes the 6th attempt is refused even with the right code, for 15 minutes", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    for (let i = 0; i < 4; i++) expect(await verifyTotpAttempt(db, KEY, owner, wrongCode(secret))).toMatchObject({ reason: "invalid" });
    expect(await verifyTotpAttempt(db, KEY, owner, wrongCode(secret))).toMatchObject({ reason: "locked" });
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret))).toMatchObject({ ok: false, reason: "locked" });
    // Still locked a minute before the end; open again after it, and the right code resets the count.
    const later = Date.now() + TOTP_LOCK_MS - 60_000;
    expect(await verifyTotpAttempt(db, KEY, owner, codeForStep(secret, currentStep(later)), later)).toMatchObject({ reason: "locked" });
    const after = Date.now() + TOTP_LOCK_MS + 1000;
    expect(await verifyTotpAttempt(db, KEY, owner, codeForStep(secret, currentStep(after)), after)).toMatchObject({ ok: true });
    expect((await loadFactorState(db, owner))!.failures).toBe(0);
  });

  it("concurrent wrong codes all count: 10 at once lock the factor", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    await Promise.all(Array.from({ length: 10 }, () => verifyTotpAttempt(db, KEY, owner, wrongCode(secret))));
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret))).toMatchObject({ reason: "locked" });
  });

  it("a success resets the count of failures in a row", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    for (let i = 0; i < 4; i++) await verifyTotpAttempt(db, KEY, owner, wrongCode(secret));
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret))).toMatchObject({ ok: true });
    for (let i = 0; i < 4; i++) await verifyTotpAttempt(db, KEY, owner, wrongCode(secret));
    expect(await verifyTotpAttempt(db, KEY, owner, codeNow(secret, 1))).toMatchObject({ ok: true });
  });

  it("through the worker: 5 wrong codes from 5 IPs, then the right code from a sixth IP is refused", async () => {
    const { staff, secret } = await staffWithTotp();
    const browser = await pendingBrowser(staff.email, "198.51.100.10");
    for (let i = 0; i < 5; i++) {
      browser.ip = `198.51.100.${20 + i}`;
      const response = await browser.post("/login/2fa", { code: wrongCode(secret) });
      expect(response.status).toBe(i < 4 ? 401 : 429);
    }
    const other = await pendingBrowser(staff.email, "203.0.113.99");
    const refused = await other.post("/login/2fa", { code: codeNow(secret) });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("locked for 15 minutes");
    expect((await other.fetch("/app/contacts")).status).toBe(302);
  });
});

describe("rule 17 (module part): recovery codes are single use", () => {
  it("a code works once; a second use fails; another account's code never works", async () => {
    const owner = await portalAccount();
    const other = await portalAccount();
    await enableTotp(owner);
    await enableTotp(other);
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    await db.batch((await replaceRecoveryCodes(db, RECOVERY_KEY, owner.id, codes)) as [never]);

    expect(await verifyRecoveryAttempt(db, RECOVERY_KEY, other, codes[0])).toMatchObject({ ok: false, reason: "invalid" });
    // Typed with spaces and upper case, as people copy them.
    expect(await verifyRecoveryAttempt(db, RECOVERY_KEY, owner, ` ${codes[0].toUpperCase().replace(/-/g, " ")} `)).toEqual({ ok: true });
    expect(await verifyRecoveryAttempt(db, RECOVERY_KEY, owner, codes[0])).toMatchObject({ ok: false, reason: "invalid" });
    expect(await verifyRecoveryAttempt(db, RECOVERY_KEY, owner, codes[1])).toEqual({ ok: true });
  });

  it("concurrent uses of one code: exactly one succeeds", async () => {
    const owner = await portalAccount();
    await enableTotp(owner);
    const codes = generateRecoveryCodes();
    await db.batch((await replaceRecoveryCodes(db, RECOVERY_KEY, owner.id, codes)) as [never]);
    const results = await Promise.all(Array.from({ length: 5 }, () => verifyRecoveryAttempt(db, RECOVERY_KEY, owner, codes[3])));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("wrong recovery codes count towards the same lockout as TOTP codes", async () => {
    const owner = await portalAccount();
    const secret = await enableTotp(owner);
    const codes = generateRecoveryCodes();
    await db.batch((await replaceRecoveryCodes(db, RECOVERY_KEY, owner.id, codes)) as [never]);
    for (let i = 0; i < 3; i++) await verifyRecoveryAttempt(db, RECOVERY_KEY, owner, "aaaa-bbbb-cccc-dddd");
    for (let i = 0; i < 2; i++) await verifyTotpAttempt(db, KEY, owner, wrongCode(secret));
    expect(await verifyRecoveryAttempt(db, RECOVERY_KEY, owner, codes[0])).toMatchObject({ reason: "locked" });
  });

  it("stores only HMACs", async () => {
    const owner = await portalAccount();
    const codes = generateRecoveryCodes();
    await db.batch((await replaceRecoveryCodes(db, RECOVERY_KEY, owner.id, codes)) as [never]);
    const rows = await db.query.recoveryCodes.findMany({ where: (t, { eq }) => eq(t.portalAccountId, owner.id) });
    expect(rows).toHaveLength(10);
    const dump = JSON.stringify(rows).toLowerCase();
    for (const code of codes) expect(dump).not.toContain(code.replace(/-/g, "").slice(0, 8));
  });
});

// ---- staff, through the worker ----

async function staffWithTotp() {
  const firm = await createFirm();
  const staff = await createStaff(firm);
  const secret = await enableTotp(staffOwner(staff));
  return { firm, staff, secret };
}

async function pendingBrowser(email: string, ip = "203.0.113.10"): Promise<Browser> {
  const browser = new Browser(ip);
  const response = await browser.post("/login", { email, password: PASSWORD, redirectTo: "/app/contacts" });
  expect(response.status).toBe(302);
  expect(response.headers.get("location")).toBe("/login/2fa?redirectTo=%2Fapp%2Fcontacts");
  return browser;
}

describe("rule 9 (staff): after the password, only the code step is reachable", () => {
  it("staff pages send a staff member with TOTP on back to /login/2fa until the code is given", async () => {
    const { staff, secret } = await staffWithTotp();
    const browser = await pendingBrowser(staff.email);
    for (const path of ["/app/contacts", "/app/account", "/app/account/two-factor"]) {
      const response = await browser.fetch(path);
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login\/2fa\?redirectTo=/);
    }
    expect((await browser.fetch("/login/2fa")).status).toBe(200);
    const done = await browser.post("/login/2fa", { code: codeNow(secret), redirectTo: "/app/contacts" });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/app/contacts");
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
  });

  it("/login/2fa without a pending session goes to /login; a finished one goes on; redirectTo stays local", async () => {
    expect((await new Browser().fetch("/login/2fa")).headers.get("location")).toBe("/login");
    expect((await new Browser().post("/login/2fa", { code: "123456" })).headers.get("location")).toBe("/login");
    const { staff, secret } = await staffWithTotp();
    const browser = await pendingBrowser(staff.email);
    const done = await browser.post("/login/2fa", { code: codeNow(secret), redirectTo: "//evil.example/x" });
    expect(done.headers.get("location")).toBe("/app/contacts");
    expect((await browser.fetch("/login/2fa?redirectTo=/app/account")).headers.get("location")).toBe("/app/account");
  });
});

describe("rule 25 (staff): token rotation across /login/2fa", () => {
  it("the cookie value changes, and the pre-2FA token is dead afterwards", async () => {
    const { staff, secret } = await staffWithTotp();
    const browser = await pendingBrowser(staff.email);
    const before = browser.cookies.get(COOKIE)!;
    await browser.post("/login/2fa", { code: codeNow(secret) });
    const after = browser.cookies.get(COOKIE)!;
    expect(after).not.toBe(before);
    const old = new Browser();
    old.cookies.set(COOKIE, before);
    expect((await old.fetch("/app/contacts")).status).toBe(302);
    expect((await old.fetch("/login/2fa")).headers.get("location")).toBe("/login");
    const row = await db.query.sessions.findFirst({ where: eq(sessions.id, after.split(".")[0]) });
    expect(row!.twoFactorVerifiedAt).not.toBeNull();
    // Rule 24 holds for the cookie set at the code step too.
    for (const cookie of browser.setCookies) expect(cookie).toMatch(/^__Host-[a-z_]+=[^;]*; Path=\/; Secure; HttpOnly; SameSite=Lax(; Max-Age=\d+)?$/);
  });
});

describe("staff code step: errors and bad input (rule 32)", () => {
  it("a wrong code gets a clear error and no session upgrade", async () => {
    const { staff, secret } = await staffWithTotp();
    const browser = await pendingBrowser(staff.email);
    const cookie = browser.cookies.get(COOKIE);
    const response = await browser.post("/login/2fa", { code: wrongCode(secret) });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain("That code is not valid.");
    expect(browser.cookies.get(COOKIE)).toBe(cookie);
    expect((await browser.fetch("/app/contacts")).status).toBe(302);
  });

  const cases: Array<[string, RequestInit & { form?: Record<string, string> }, number]> = [
    ["a missing code", { method: "POST", form: {} }, 422],
    ["letters", { method: "POST", form: { code: "abcdef" } }, 422],
    ["too many digits", { method: "POST", form: { code: "1234567" } }, 422],
    ["an oversized code", { method: "POST", form: { code: "1".repeat(5000) } }, 422],
    ["an oversized body", { method: "POST", form: { code: "1".repeat(70_000) } }, 413],
    ["a broken multipart body", { method: "POST", body: "--x\r\nbroken", headers: { "content-type": "multipart/form-data; boundary=y" } }, 400],
  ];
  for (const [name, init, status] of cases) {
    it(`${name} gives ${status} with a message, never a 500, and counts no failure`, async () => {
      const { staff } = await staffWithTotp();
      const browser = await pendingBrowser(staff.email);
      const response = await browser.fetch("/login/2fa", init);
      expect(response.status).toBe(status);
      expect((await response.text()).length).toBeGreaterThan(0);
      expect((await loadFactorState(db, staffOwner(staff)))!.failures).toBe(0);
    });
  }
});

describe("staff enrolment and turning off, through the worker", () => {
  function field(html: string, pattern: RegExp): string {
    const match = pattern.exec(html);
    if (!match) throw new Error(`not found: ${pattern}`);
    return match[1];
  }

  async function signedInStaff() {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = new Browser();
    expect((await browser.post("/login", { email: staff.email, password: PASSWORD })).status).toBe(302);
    return { staff, browser };
  }

  it("rule 12: enrols with the shown key, rotates the token, and the enrolment code is refused at the next sign-in", async () => {
    const { staff, browser } = await signedInStaff();
    const account = await browser.fetch("/app/account");
    expect(await account.text()).toContain("Set up two-factor authentication");
    const page = await browser.fetch("/app/account/two-factor");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<div class="qr" role="img" aria-label="[^"]+"><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(html).not.toMatch(/\sstyle="/);
    const pending = field(html, /name="pending" value="([^"]+)"/);
    const secret = decodeBase32IgnorePadding(field(html, /<code class="totp-key">([A-Z2-7 ]+)<\/code>/).replace(/ /g, ""));

    const wrong = await browser.post("/app/account/two-factor", { pending, code: wrongCode(secret) });
    expect(wrong.status).toBe(422);
    const again = await wrong.text();
    expect(again).toContain("That code does not match.");
    // The page after a wrong code still shows the secret already scanned.
    expect(field(again, /name="pending" value="([^"]+)"/)).toBe(pending);
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).toBeNull();

    const before = browser.cookies.get(COOKIE);
    const code = codeNow(secret);
    const done = await browser.post("/app/account/two-factor", { pending, code });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/app/account?notice=2fa-on");
    expect(browser.cookies.get(COOKIE)).not.toBe(before);
    expect((await browser.fetch("/app/contacts")).status).toBe(200);

    await browser.post("/logout", {});
    const next = await pendingBrowser(staff.email);
    expect((await next.post("/login/2fa", { code })).status).toBe(401);
  });

  it("a pending secret posted with a forged or foreign token is refused and nothing is saved", async () => {
    const { staff, browser } = await signedInStaff();
    const other = await signedInStaff();
    const foreign = field(await (await other.browser.fetch("/app/account/two-factor")).text(), /name="pending" value="([^"]+)"/);
    const response = await browser.post("/app/account/two-factor", { pending: foreign, code: "123456" });
    expect(response.status).toBe(422);
    expect(await response.text()).toContain("This setup page has expired.");
    for (const pending of ["", "x".repeat(5000), "AAAA"]) {
      expect([400, 422]).toContain((await browser.post("/app/account/two-factor", { pending, code: "123456" })).status);
    }
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).toBeNull();
  });

  it("turning 2FA off needs a current code; a wrong one changes nothing", async () => {
    const { staff, browser } = await signedInStaff();
    const secret = await enableTotp(staffOwner(staff));
    // Turning it on out of band leaves this session without the 2FA mark: give the code first.
    expect((await browser.fetch("/app/account")).headers.get("location")).toMatch(/^\/login\/2fa/);
    expect((await browser.post("/login/2fa", { code: codeNow(secret) })).status).toBe(302);
    const page = await (await browser.fetch("/app/account")).text();
    expect(page).toContain("Turn off two-factor authentication");

    const wrong = await browser.post("/app/account", { code: wrongCode(secret) });
    expect(wrong.status).toBe(401);
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).not.toBeNull();
    const off = await browser.post("/app/account", { code: codeNow(secret, 1) });
    expect(off.status).toBe(302);
    expect(off.headers.get("location")).toBe("/app/account?notice=2fa-off");
    const state = (await loadFactorState(db, staffOwner(staff)))!;
    expect(state.enabledAt).toBeNull();
    expect(state.secret).toBeNull();
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
  });

  it("rule 32: bad input on the setup and turn-off forms gets 400/413/422 with a message and changes nothing", async () => {
    const { staff, browser } = await signedInStaff();
    const bodies: Array<[string, RequestInit & { form?: Record<string, string> }]> = [
      ["/app/account/two-factor", { method: "POST", form: {} }],
      ["/app/account/two-factor", { method: "POST", form: { code: "12 34 5x", pending: "abc" } }],
      ["/app/account/two-factor", { method: "POST", form: { code: "1".repeat(70_000) } }],
      ["/app/account/two-factor", { method: "POST", body: "--x\r\nbroken", headers: { "content-type": "multipart/form-data; boundary=y" } }],
    ];
    for (const [path, init] of bodies) {
      const response = await browser.fetch(path, init);
      expect([400, 413, 422]).toContain(response.status);
      expect((await response.text()).length).toBeGreaterThan(0);
    }
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).toBeNull();
    const secret = await enableTotp(staffOwner(staff));
    await browser.post("/login/2fa", { code: codeNow(secret) });
    for (const form of [{}, { code: "abcdef" }, { code: "1".repeat(5000) }] as Array<Record<string, string>>) {
      const response = await browser.post("/app/account", form);
      expect(response.status).toBe(422);
    }
    expect((await loadFactorState(db, staffOwner(staff)))!).toMatchObject({ failures: 0 });
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).not.toBeNull();
  });

  it("rule 18 (own 2FA): with a 15-minute-old sign-in, turning 2FA off asks for the password first", async () => {
    const { staff, browser } = await signedInStaff();
    const secret = await enableTotp(staffOwner(staff));
    await browser.post("/login/2fa", { code: codeNow(secret) });
    const id = browser.cookies.get(COOKIE)!.split(".")[0];
    const old = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: old, reauthenticatedAt: old }).where(eq(sessions.id, id));
    const response = await browser.post("/app/account", { code: codeNow(secret, 1) });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/app/reauthenticate?redirectTo=%2Fapp%2Faccount");
    expect((await loadFactorState(db, staffOwner(staff)))!.enabledAt).not.toBeNull();
  });
});

