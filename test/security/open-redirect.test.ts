// SECURITY.md rule 30: open redirects are impossible. Every route that takes a return path gets the
// same payloads, and what it answers (a Location, or the return path it puts into its form) must stay
// on the app's own origin. The check is on what the app returns, not on what it was given.
import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "../../app/server/request-meta.server";
import { issueSession } from "../../app/server/auth/sessions.server";
import { createFirm, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, ORIGIN, signInStaff } from "../support/http";
import { codeNow, enableTotp, staffOwner } from "../support/two-factor";

/** Return paths an attacker would put into a link to the sign-in page. None may leave the site. */
const PAYLOADS = [
  // Absolute and protocol-relative URLs.
  "//evil.example",
  "//evil.example/x",
  "///evil.example",
  "////evil.example/x",
  "//evil.example@portal.test",
  "//portal.test@evil.example",
  "https://evil.example",
  "http://evil.example/x",
  "HTTPS://evil.example",
  "hTtPs://evil.example",
  "https:evil.example",
  "https:/evil.example",
  "https:\\\\evil.example",
  "ftp://evil.example",
  "evil.example",
  "@evil.example",
  " //evil.example",
  "\u00a0//evil.example",
  // Dot segments that the URL parser resolves into a protocol-relative path.
  "/.//evil.example/x",
  "/..//evil.example/x",
  "/%2e//evil.example/x",
  "/%2E//evil.example/x",
  "/%2e%2e//evil.example",
  "/.%2e//evil.example",
  "/././/evil.example",
  "/a/..//evil.example",
  "/a/../..//evil.example",
  "/app/../..//evil.example/x",
  "/.//evil.example@portal.test",
  // Backslashes, which browsers and the URL parser read as slashes.
  "/\\evil.example",
  "\\/evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/.\\evil.example",
  "/a/..\\..\\evil.example",
  "\\evil.example",
  // Encoded slashes and backslashes, in either case.
  "%2F%2Fevil.example",
  "%2f%2fevil.example",
  "/%2F/evil.example",
  "/%2fevil.example",
  "/%5cevil.example",
  "/%5Cevil.example",
  "%5C%5Cevil.example",
  "/%2e%2e%2f%2fevil.example",
  "/.%2f/evil.example",
  // Tabs, newlines and other control characters, which the URL parser strips.
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "\t//evil.example",
  "//\tevil.example",
  "/\t\\evil.example",
  "/.\t//evil.example",
  "/\u0000/evil.example",
  "/\u007f/evil.example",
  "/\u0085/evil.example",
  // Other schemes.
  "javascript:alert(1)",
  "JAVASCRIPT:alert(1)",
  "JaVaScRiPt:alert(1)",
  "javascript://%0aalert(1)",
  "java\tscript:alert(1)",
  " javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "vbscript:msgbox(1)",
  "blob:https://evil.example/x",
];

/** The payloads any correct check refuses outright (the rest must at least stay local). */
const REFUSED = PAYLOADS;

/** Return paths the app itself makes; these must survive unchanged. */
const LOCAL = ["/app/contacts", "/app/requests?status=open&cursor=abc", "/app/contacts/c_1#notes", "/app/account/two-factor", "/app/contacts?q=a%2Fb"];

/** Why a Location (or a return path) is not a local page of this app, or null when it is. */
function offsite(location: string | null): string | null {
  if (location === null) return "no Location";
  // Control characters and backslashes are rewritten by browsers before they resolve the URL.
  if (/[\p{Cc}\\]/u.test(location)) return "control character or backslash";
  if (!location.startsWith("/") || location.startsWith("//")) return "not a path on this site";
  const resolved = new URL(location, `${ORIGIN}/login`);
  if (resolved.origin !== ORIGIN) return `resolves to ${resolved.origin}`;
  // A hop through the 2FA step carries the return path on: it must be local too.
  const nested = resolved.searchParams.get("redirectTo");
  if (nested !== null && nested !== "") {
    const problem = offsite(nested);
    if (problem) return `redirectTo ${problem}`;
  }
  return null;
}

function expectAllLocal(results: Array<{ payload: string; location: string | null }>) {
  const bad = results.map((r) => ({ ...r, problem: offsite(r.location) })).filter((r) => r.problem !== null);
  expect(bad).toEqual([]);
}

/** The return path a page put into its sign-in form (what its POST will carry). */
function formRedirectTo(html: string): string | null {
  const match = /<input[^>]*name="redirectTo"[^>]*value="([^"]*)"/.exec(html) ?? /<input[^>]*value="([^"]*)"[^>]*name="redirectTo"/.exec(html);
  if (!match) return null;
  return match[1].replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** An empty return path means "the default page"; no form at all is a failure. */
function formLocation(html: string): string | null {
  const value = formRedirectTo(html);
  return value === "" ? "/" : value;
}

function query(payload: string): string {
  return `redirectTo=${encodeURIComponent(payload)}`;
}

/** A staff member signed in with a password only, before the code step. */
async function pendingStaffBrowser(staff: { id: string; firmId: string }, ip: string): Promise<Browser> {
  const { token, insert } = await issueSession(db, { kind: "staff", firmId: staff.firmId, staffUserId: staff.id, ip });
  await insert;
  const browser = new Browser(ip);
  browser.cookies.set("__Host-staff_session", token);
  return browser;
}

// Each route test sends every payload in turn; under a loaded full run that takes a while.
const ROUTE_TIMEOUT_MS = 180_000;

let ipCounter = 0;
function nextIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

describe("rule 30: open redirects are impossible (safeRedirectPath, the path actually returned)", () => {
  it.each(REFUSED.map((payload) => [JSON.stringify(payload), payload]))("refuses %s", (_name, payload) => {
    expect(safeRedirectPath(payload, "/fallback")).toBe("/fallback");
  });

  it("whatever it is given, what it returns is a local path", () => {
    const extra = PAYLOADS.flatMap((p) => [p, `/${p}`, `/app/${p}`, `${p}?x=1`, `/app?next=${p}`]);
    expectAllLocal(extra.map((payload) => ({ payload, location: safeRedirectPath(payload, "/fallback") })));
  });

  it("keeps the app's own return paths, and refuses non-strings and oversized values", () => {
    for (const path of LOCAL) expect(safeRedirectPath(path, "/fallback")).toBe(path);
    for (const value of [undefined, null, 42, ["/app"], {}, "", "/" + "a".repeat(1001)]) {
      expect(safeRedirectPath(value, "/fallback")).toBe("/fallback");
    }
  });
});

describe("rule 30: open redirects are impossible (every route that takes a return path)", () => {
  it("POST /login: the Location after sign-in stays local", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await new Browser(nextIp()).post("/login", { email: staff.email, password: PASSWORD, redirectTo: payload });
      expect(response.status).toBe(302);
      results.push({ payload, location: response.headers.get("location") });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("POST /login with 2FA on: the hop to /login/2fa carries only a local return path", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    await enableTotp(staffOwner(staff));
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await new Browser(nextIp()).post("/login", { email: staff.email, password: PASSWORD, redirectTo: payload });
      expect(response.status).toBe(302);
      const location = response.headers.get("location");
      expect(location).toMatch(/^\/login\/2fa\?redirectTo=/);
      results.push({ payload, location });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("GET /login when already signed in: the redirect stays local (no click needed, so it matters most)", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD, new Browser(nextIp()));
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await browser.fetch(`/login?${query(payload)}`);
      expect(response.status).toBe(302);
      results.push({ payload, location: response.headers.get("location") });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("GET /login signed out: the form carries only a local return path", async () => {
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await new Browser(nextIp()).fetch(`/login?${query(payload)}`);
      expect(response.status).toBe(200);
      results.push({ payload, location: formLocation(await response.text()) });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("GET /login/2fa when the code step is done: the redirect stays local", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD, new Browser(nextIp()));
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await browser.fetch(`/login/2fa?${query(payload)}`);
      expect(response.status).toBe(302);
      results.push({ payload, location: response.headers.get("location") });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("GET /login/2fa at the code step: the form carries only a local return path", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    await enableTotp(staffOwner(staff));
    const browser = await pendingStaffBrowser(staff, nextIp());
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await browser.fetch(`/login/2fa?${query(payload)}`);
      expect(response.status).toBe(200);
      results.push({ payload, location: formLocation(await response.text()) });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("POST /login/2fa: the Location after the code stays local", async () => {
    const firm = await createFirm();
    const results = [];
    for (const payload of PAYLOADS) {
      // Each code is accepted once per account, so each payload gets its own staff member.
      const staff = await createStaff(firm);
      const secret = await enableTotp(staffOwner(staff));
      const browser = await pendingStaffBrowser(staff, nextIp());
      const response = await browser.post("/login/2fa", { code: codeNow(secret), redirectTo: payload });
      expect(response.status).toBe(302);
      results.push({ payload, location: response.headers.get("location") });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("GET /app/reauthenticate: the form carries only a local return path", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD, new Browser(nextIp()));
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await browser.fetch(`/app/reauthenticate?${query(payload)}`);
      expect(response.status).toBe(200);
      results.push({ payload, location: formLocation(await response.text()) });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("POST /app/reauthenticate: the Location after the password stays local", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD, new Browser(nextIp()));
    const results = [];
    for (const payload of PAYLOADS) {
      const response = await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: payload });
      expect(response.status).toBe(302);
      results.push({ payload, location: response.headers.get("location") });
    }
    expectAllLocal(results);
  }, ROUTE_TIMEOUT_MS);

  it("the app's own return paths still work end to end", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    for (const path of LOCAL) {
      const response = await new Browser(nextIp()).post("/login", { email: staff.email, password: PASSWORD, redirectTo: path });
      expect(response.headers.get("location")).toBe(path);
    }
    const browser = await signInStaff(staff.email, PASSWORD, new Browser(nextIp()));
    for (const path of LOCAL) {
      expect((await browser.fetch(`/login?${query(path)}`)).headers.get("location")).toBe(path);
      expect(formRedirectTo(await (await browser.fetch(`/app/reauthenticate?${query(path)}`)).text())).toBe(path);
    }
  }, ROUTE_TIMEOUT_MS);
});
