// Issue 5, the whole 2FA-reset story from both sides, on the demo data: Harbor & Co moves to
// "Magic link + Login 2FA", Marcus signs in with his authenticator, loses his phone, an admin deactivates
// his 2FA, his open browser is signed out, he enrols again and is emailed; Harbor goes back to the default.
// Marcus ends with a new secret: no other spec uses his demo key (grep test/e2e for JBSWY3DP).
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test, type Browser, type Page } from "./fixtures";
import { codeForStep, currentStep } from "../../app/server/auth/totp.server";

const BASE = "/portal/harbor";
const SETTINGS = "/app/settings/client-portal/security";
const PASSWORD = "demo-password-2026";
const MARCUS = "marcus@client.test";
const MARCUS_DEMO_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const TWO_FACTOR_MODE = "Magic link + Login 2FA";
const DEFAULT_MODE = "Magic link + Login (default)";

/** Each time step is accepted once per account: every code comes from a step newer than the last one used. */
let marcusLastStep = -1;
async function freshCode(page: Page, secret: Uint8Array): Promise<string> {
  // The server accepts one step either side of its clock; wait only if even the next step was used.
  while (currentStep() + 1 <= marcusLastStep) await page.waitForTimeout(1000);
  const step = Math.max(currentStep(), marcusLastStep + 1);
  marcusLastStep = step;
  return codeForStep(secret, step);
}

async function staffSignIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@harbor.test");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
}

async function clientPassword(page: Page) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").first().fill(MARCUS);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Settings › Security and Two-Factor: check the option, Save, then "Confirm and save". */
async function switchMode(page: Page, label: string) {
  await page.goto(SETTINGS);
  await page.getByLabel(label, { exact: true }).check();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("button", { name: "Confirm and save" }).click();
  await expect(page.getByRole("status")).toContainText(`Saved: clients now use “${label.replace(" (default)", "")}”`);
  await page.reload();
  await expect(page.getByLabel(label, { exact: true })).toBeChecked();
}

// Whatever happens in the test, later spec files must find Harbor in its demo mode.
test.afterAll(async ({ browser }: { browser: Browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await staffSignIn(page);
  await page.goto(SETTINGS);
  if (!(await page.getByLabel(DEFAULT_MODE, { exact: true }).isChecked())) await switchMode(page, DEFAULT_MODE);
  await context.close();
});

test("an admin deactivates a client's 2FA: the client's browser is signed out, they enrol again and are emailed", async ({ browser }) => {
  test.setTimeout(150_000);
  const adminContext = await browser.newContext();
  const marcusContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const marcus = await marcusContext.newPage();

  // 1. The admin requires 2FA for every Harbor client.
  await staffSignIn(admin);
  await switchMode(admin, TWO_FACTOR_MODE);

  // 2. Marcus signs in with his password and a code from his authenticator app.
  await clientPassword(marcus);
  await expect(marcus).toHaveURL(new RegExp(`${BASE}/2fa$`));
  await marcus.getByLabel("Code", { exact: true }).fill(await freshCode(marcus, decodeBase32IgnorePadding(MARCUS_DEMO_KEY)));
  await marcus.getByRole("button", { name: "Verify" }).click();
  await expect(marcus.getByRole("heading", { name: "Your requests" })).toBeVisible();

  // 3. He lost his phone; the admin deactivates his 2FA from Contacts › Marcus Lee.
  await admin.getByRole("link", { name: "Contacts" }).first().click();
  await admin.getByRole("link", { name: "Marcus Lee" }).click();
  await expect(admin.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();
  const portal = admin.getByRole("region", { name: "Client portal" });
  await expect(portal).toContainText(MARCUS);
  await expect(portal).toContainText("On since");
  await admin.getByRole("link", { name: "Edit login details" }).click();
  await expect(admin.getByRole("heading", { name: "Edit login details" })).toBeVisible();
  // Staff never see the client's secret.
  await expect(admin.locator("body")).not.toContainText(MARCUS_DEMO_KEY);
  await admin.getByLabel("Reason").fill("Marcus lost his phone; confirmed by a call");
  await admin.getByLabel("I have checked that this request really comes from the client.").check();
  await admin.getByRole("button", { name: "Deactivate two-factor authentication" }).click();
  await expect(admin.getByRole("status")).toContainText("Two-factor authentication was deactivated. The client was signed out and emailed.");
  await admin.getByRole("link", { name: "← Marcus Lee" }).click();
  await expect(admin.getByRole("region", { name: "Client portal" })).toContainText("Required, not set up yet");

  // 4. Marcus's open browser is signed out on its next request.
  await marcus.reload();
  await expect(marcus.getByRole("heading", { name: "Your requests" })).toHaveCount(0);
  await expect(marcus).not.toHaveURL(new RegExp(`${BASE}/requests`));
  await marcus.goto(`${BASE}/requests`);
  await expect(marcus.getByRole("heading", { name: "Your requests" })).toHaveCount(0);

  // 5. He signs in again and is taken to set up 2FA with a new key; the old key no longer matters.
  await clientPassword(marcus);
  await expect(marcus).toHaveURL(new RegExp(`${BASE}/2fa/setup$`));
  await expect(marcus.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();
  const key = (await marcus.locator(".totp-key").textContent())!.replace(/\s+/g, "");
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  expect(key).not.toBe(MARCUS_DEMO_KEY);
  await marcus.getByLabel("Code", { exact: true }).fill(await freshCode(marcus, decodeBase32IgnorePadding(key)));
  await marcus.getByRole("button", { name: "Verify" }).click();
  await expect(marcus.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  const codes = await marcus.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  // The codes are shown once, so they must stay on screen until he moves on (no revalidation redirect).
  await marcus.waitForTimeout(2000);
  await expect(marcus).toHaveURL(new RegExp(`${BASE}/2fa/setup$`));
  await expect(marcus.getByRole("list", { name: "Recovery codes" }).getByRole("listitem")).toHaveText(codes);
  await marcus.getByRole("link", { name: "Continue to your requests" }).click();
  await expect(marcus.getByRole("heading", { name: "Your requests" })).toBeVisible();

  // 6. The reset email is in the dev outbox, to Marcus.
  await admin.goto("/dev/outbox");
  const email = admin.getByRole("article", { name: /two-factor authentication was reset/ }).filter({ hasText: `To ${MARCUS}` });
  await expect(email).toHaveCount(1);

  // 7. The admin sees the reset in the audit log, with the reason.
  await admin.goto("/app/settings/audit-log?type=client.two_factor_reset");
  await expect(admin.getByRole("table")).toContainText("Marcus lost his phone; confirmed by a call");

  // 8. Harbor goes back to the demo default, for the spec files that run after this one.
  await switchMode(admin, DEFAULT_MODE);
  await adminContext.close();
  await marcusContext.close();
});
