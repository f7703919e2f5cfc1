// SECURITY.md rules 28 and 29 (cross-site writes, headers) and rule 6 (token pages).
import { describe, expect, it } from "vitest";
import { createContact, createFirm, createPortalAccount, createStaff, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, emailsTo, issueLink, urlTokenIn } from "../support/portal";

describe("rule 28: cross-site writes are refused", () => {
  const variants: Array<[string, Record<string, string>, boolean]> = [
    ["Sec-Fetch-Site: cross-site with a form body", { "sec-fetch-site": "cross-site" }, true],
    ["Sec-Fetch-Site: cross-site without Content-Type", { "sec-fetch-site": "cross-site" }, false],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "sec-fetch-site": "same-site" }, true],
    ["a foreign Origin with a form body", { origin: "https://evil.example", "sec-fetch-site": "" }, true],
    ["a foreign Origin without Content-Type", { origin: "https://evil.example", "sec-fetch-site": "" }, false],
    ["Origin: null", { origin: "null", "sec-fetch-site": "" }, true],
  ];
  for (const [name, headers, withContentType] of variants) {
    it(`403 and no sign-in for ${name}`, async () => {
      const firm = await createFirm();
      const staff = await createStaff(firm);
      const browser = new Browser();
      const h = new Headers();
      for (const [k, v] of Object.entries(headers)) if (v) h.set(k, v);
      if (!h.has("origin")) h.set("origin", "http://portal.test");
      if (!h.has("sec-fetch-site")) h.set("sec-fetch-site", "none");
      if (withContentType) h.set("content-type", "application/x-www-form-urlencoded");
      const body = new URLSearchParams({ email: staff.email, password: PASSWORD }).toString();
      const response = await browser.fetch("/login", { method: "POST", headers: h, body });
      expect(response.status).toBe(403);
      expect(browser.cookies.has("__Host-staff_session")).toBe(false);
    });
  }

  it("a cross-site POST to logout does not sign the staff member out", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD);
    const response = await browser.fetch("/logout", { method: "POST", headers: { "sec-fetch-site": "cross-site", origin: "https://evil.example" } });
    expect(response.status).toBe(403);
    expect((await browser.fetch("/app/contacts")).status).toBe(200);
  });
});

describe("rule 29: security headers", () => {
  it("HSTS, nonce CSP without unsafe-inline scripts, frame-ancestors none, nosniff, no-store on authenticated pages", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD);
    for (const path of ["/login", "/app/contacts", "/healthz"]) {
      const response = await (path === "/login" ? new Browser() : browser).fetch(path);
      expect(response.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
      const csp = response.headers.get("content-security-policy")!;
      expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}'/);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
    const page = await browser.fetch("/app/contacts");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    const nonce = /'nonce-([^']+)'/.exec(page.headers.get("content-security-policy")!)![1];
    // Every inline script carries this response's nonce.
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)];
    expect(inline.length).toBeGreaterThan(0);
    for (const [, attrs] of inline) expect(attrs).toContain(`nonce="${nonce}"`);
  });

  it("a fresh nonce on every response", async () => {
    const a = (await new Browser().fetch("/login")).headers.get("content-security-policy");
    const b = (await new Browser().fetch("/login")).headers.get("content-security-policy");
    expect(a).not.toBe(b);
  });
});

// Rule 30 (open redirects) has its own file: open-redirect.test.ts.

describe("rule 29: headers on any kind of response", () => {
  it("a response whose headers are immutable (a redirect made with Response.redirect) still gets every header, and one that is editable keeps its own", async () => {
    const { Hono } = await import("hono");
    const { securityHeaders } = await import("../../app/worker/security");
    const app = new Hono<{ Variables: { nonce: string } }>();
    app.use("*", async (c, next) => {
      c.set("nonce", "test-nonce");
      await next();
    });
    app.use("*", securityHeaders());
    app.get("/immutable", () => Response.redirect("https://portal.example/elsewhere", 302));
    app.get("/editable", () => new Response("ok", { headers: { "Cache-Control": "private, max-age=60", "Set-Cookie": "a=1" } }));
    for (const path of ["/immutable", "/editable"]) {
      const response = await app.request(`https://portal.example${path}`);
      expect(response.headers.get("content-security-policy"), path).toContain("'nonce-test-nonce'");
      expect(response.headers.get("strict-transport-security"), path).toContain("max-age=");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
    }
    const immutable = await app.request("https://portal.example/immutable");
    expect(immutable.status).toBe(302);
    expect(immutable.headers.get("location")).toBe("https://portal.example/elsewhere");
    const editable = await app.request("https://portal.example/editable");
    expect(editable.headers.get("cache-control")).toBe("private, max-age=60");
    expect(editable.headers.get("set-cookie")).toBe("a=1");
    expect(await editable.text()).toBe("ok");
  });
});

describe("rule 6: every page that carries a token in its URL sends no-referrer and no-store", () => {
  const NEW_PASSWORD = "a brand new passphrase 2024";

  /** The token of the email a portal form sends (as the client would find it in their inbox). */
  async function mailedToken(path: string, email: string): Promise<string> {
    const since = Date.now();
    expect((await new Browser().post(path, { intent: "request", email })).status).toBe(200);
    const [message] = await emailsTo(email, since);
    return urlTokenIn(message.textBody);
  }

  function expectTokenPageHeaders(answers: Array<[string, Response]>) {
    const wrong = answers
      .map(([name, response]) => ({
        name,
        status: response.status,
        referrerPolicy: response.headers.get("referrer-policy"),
        cacheControl: response.headers.get("cache-control"),
      }))
      .filter((a) => a.referrerPolicy !== "no-referrer" || a.cacheControl !== "no-store");
    expect(wrong).toEqual([]);
  }

  it("forgot-password?token=: GET, HEAD, data request and every POST answer (error, expired, success)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const token = await mailedToken(`${base}/forgot-password`, contact.email);
    const page = `${base}/forgot-password?token=${token}`;
    const browser = new Browser();
    const get = await browser.fetch(page);
    expect(await get.clone().text()).toContain("Choose a new password");
    const answers: Array<[string, Response]> = [
      ["GET", get],
      ["HEAD", await browser.fetch(page, { method: "HEAD" })],
      ["GET ?_data", await browser.fetch(`${page}&_data=${encodeURIComponent("routes/portal.$firmSlug.forgot-password")}`)],
      ["GET with an unknown token", await browser.fetch(`${base}/forgot-password?token=${"A".repeat(43)}`)],
      ["GET with a malformed token", await browser.fetch(`${base}/forgot-password?token=%00%ff`)],
      ["POST with a short password", await browser.post(page, { intent: "reset", token, password: "short" })],
      ["POST with an unknown token", await browser.post(`${base}/forgot-password?token=${"B".repeat(43)}`, { intent: "reset", token: "B".repeat(43), password: NEW_PASSWORD })],
      ["POST without an intent", await browser.post(page, {})],
    ];
    const done = await browser.post(page, { intent: "reset", token, password: NEW_PASSWORD });
    expect(done.status).toBe(302);
    answers.push(["POST that sets the password (redirect)", done]);
    answers.push(["GET after use", await new Browser().fetch(page)]);
    expectTokenPageHeaders(answers);
  });

  it("signup?token=: GET, HEAD, data request and every POST answer (error, expired, success)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const base = `/portal/${firm.slug}`;
    const token = await mailedToken(`${base}/signup`, contact.email);
    const page = `${base}/signup?token=${token}`;
    const browser = new Browser();
    const get = await browser.fetch(page);
    expect(await get.clone().text()).toContain(contact.email);
    const answers: Array<[string, Response]> = [
      ["GET", get],
      ["HEAD", await browser.fetch(page, { method: "HEAD" })],
      ["GET ?_data", await browser.fetch(`${page}&_data=${encodeURIComponent("routes/portal.$firmSlug.signup")}`)],
      ["GET with an unknown token", await browser.fetch(`${base}/signup?token=${"A".repeat(43)}`)],
      ["POST with a short password", await browser.post(page, { intent: "complete", token, password: "short" })],
      ["POST with an unknown token", await browser.post(`${base}/signup?token=${"B".repeat(43)}`, { intent: "complete", token: "B".repeat(43), password: NEW_PASSWORD })],
      ["POST with an unknown intent", await browser.post(page, { intent: "nonsense" })],
    ];
    const done = await browser.post(page, { intent: "complete", token, password: NEW_PASSWORD });
    expect(done.status).toBe(302);
    answers.push(["POST that creates the login (redirect)", done]);
    answers.push(["GET after use", await new Browser().fetch(page)]);
    expectTokenPageHeaders(answers);
  });

  it("/l/<token>: GET, HEAD, every POST answer, and the path in another case", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const token = await issueLink(firm, contact);
    const browser = new Browser();
    const answers: Array<[string, Response]> = [
      ["HEAD", await browser.fetch(`/l/${token}`, { method: "HEAD" })],
      ["GET ?_data", await browser.fetch(`/l/${token}?_data=${encodeURIComponent("routes/l.$token")}`)],
      ["POST without an intent", await browser.post(`/l/${token}`, {})],
    ];
    const { response: claimed } = await claim(token, browser);
    expect(claimed.status).toBe(302);
    answers.push(["POST that claims (redirect)", claimed]);
    answers.push(["POST from another browser", await new Browser().post(`/l/${token}`, { intent: "continue" })]);
    answers.push(["POST new-link", await new Browser().post(`/l/${token}`, { intent: "new-link" })]);
    answers.push(["GET of an unknown token", await new Browser().fetch(`/l/${"A".repeat(43)}`)]);
    answers.push(["GET of /L/ (routes match in any case)", await new Browser().fetch(`/L/${token}`)]);
    expectTokenPageHeaders(answers);
  });

  it("decided in one place: a token in the query string of any page, even one that ignores it", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const staffBrowser = await signInStaff(staff.email, PASSWORD);
    const answers: Array<[string, Response]> = [
      ["GET /login?token=", await new Browser().fetch("/login?token=abc")],
      ["GET /portal/<firm>?token=", await new Browser().fetch(`/portal/${firm.slug}?token=abc`)],
      ["GET /portal/<firm>/login?email=&token=", await new Browser().fetch(`/portal/${firm.slug}/login?email=a%40b.test&token=abc`)],
      ["GET a missing page ?token=", await new Browser().fetch("/no-such-page?token=abc")],
      ["GET /healthz?token=", await new Browser().fetch("/healthz?token=abc")],
      ["GET /app/contacts?token= (signed in)", await staffBrowser.fetch("/app/contacts?token=abc")],
      ["GET /app/contacts/export.csv?token=", await staffBrowser.fetch("/app/contacts/export.csv?token=abc")],
      ["POST /login?token=", await new Browser().post("/login?token=abc", { email: "x@y.test", password: "nope" })],
    ];
    expectTokenPageHeaders(answers);
  });
});
