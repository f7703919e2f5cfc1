// SECURITY.md rule 29 where only a real server shows it: static files are served by Workers Static
// Assets before the worker runs (the workerd test pool does not serve them), and CSP violations are
// reported only by a browser.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "./fixtures";

const HSTS = "max-age=31536000; includeSubDomains";

test("rule 29: static assets (favicon, scripts, styles) send nosniff and HSTS, like the pages", async ({ request }) => {
  const page = await request.get("/login");
  expect(page.status()).toBe(200);
  const html = await page.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  expect(assets.some((path) => path.endsWith(".js"))).toBe(true);
  expect(assets.some((path) => path.endsWith(".css"))).toBe(true);
  const wrong = [];
  for (const path of ["/login", "/favicon.svg", ...new Set(assets)]) {
    const response = await request.get(path);
    const headers = response.headers();
    if (response.status() !== 200 || headers["x-content-type-options"] !== "nosniff" || headers["strict-transport-security"] !== HSTS) {
      wrong.push({ path, status: response.status(), nosniff: headers["x-content-type-options"], hsts: headers["strict-transport-security"] });
    }
  }
  expect(wrong).toEqual([]);
  // The headers file itself is configuration, not a public file.
  expect((await request.get("/_headers")).status()).toBe(404);
});

test("rule 29: the CSP watch can fail: an inline script without the nonce is reported", async ({ page, cspViolations }) => {
  await page.goto("/login");
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "document.title = 'injected'";
    document.body.appendChild(script);
  });
  // Both channels see it: the page's securitypolicyviolation event and Chromium's console error.
  await expect.poll(() => cspViolations.filter((v) => v.channel === "event").map((v) => v.directive)).toContain("script-src-elem");
  await expect.poll(() => cspViolations.filter((v) => v.channel === "console").length).toBeGreaterThan(0);
  await expect(page).not.toHaveTitle("injected");
  // Seen and checked: clear it so the fixture's own check (which fails on any violation) passes.
  cspViolations.length = 0;
});

test("rule 29: the CSP watch can fail with JavaScript off: an inline style is reported", async ({ browser, cspViolations }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // The server's own answer and CSP, with one inline style added, as a template bug would add it.
  await page.route("**/login", async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: (await response.text()).replace("</head>", "<style>body{color:red}</style></head>") });
  });
  await page.goto("/login");
  await expect.poll(() => cspViolations.map((v) => v.sample).join("\n")).toContain("style-src 'self'");
  await context.close();
  cspViolations.length = 0;
});

test("rule 29: no CSP violation on token, error and not-found pages (with and without JavaScript)", async ({ page, browser, firm }) => {
  const paths = [
    `${firm.portal}/forgot-password?token=` + "A".repeat(43),
    `${firm.portal}/signup?token=` + "A".repeat(43),
    "/l/" + "A".repeat(43),
    "/no-such-page",
    "/portal/no-such-firm",
  ];
  for (const path of paths) {
    await page.goto(path);
    await expect(page.locator("h1").first()).toBeVisible();
  }
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noScript.newPage();
  for (const path of paths) {
    await plain.goto(path);
    await expect(plain.locator("h1").first()).toBeVisible();
  }
  await noScript.close();
});

test("every spec takes `test` from ./fixtures, so the CSP watch runs on every page", async () => {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const direct = readdirSync(dir)
    .filter((name) => name.endsWith(".spec.ts"))
    .filter((name) => /from "@playwright\/test"/.test(readFileSync(join(dir, name), "utf8")));
  expect(direct).toEqual([]);
});
