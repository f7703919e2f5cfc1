// SECURITY.md rules 28 and 29 (cross-site writes, headers) and rule 6 (token pages).
import { describe, expect, it } from "vitest";
import { createFirm, createStaff, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";

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
