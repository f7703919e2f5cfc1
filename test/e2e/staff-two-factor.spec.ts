// Staff 2FA in a real browser: enrol from the QR code (decoded with a QR decoder) and the key shown,
// sign out, sign in with password and a fresh code, then turn 2FA off with another code.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test, type Page } from "./fixtures";
import { codeForStep, currentStep } from "../../app/server/auth/totp.server";
import { decodeQrSvg } from "../support/qr";

const EMAIL = "staff@harbor.test";
const PASSWORD = "demo-password-2026";

async function signIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Waits until the clock is past `step`, so a code newer than every code used so far is in the window. */
async function waitForStepAfter(page: Page, step: number) {
  while (currentStep() <= step) await page.waitForTimeout(1000);
}

test("staff enrols with an authenticator app, signs in with a code, and turns 2FA off", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page);
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();

  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await page.getByRole("link", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();

  // The QR code scans, and holds the same key as the text shown for manual entry.
  const qr = page.getByRole("img", { name: /QR code/ });
  await expect(qr).toBeVisible();
  const uri = decodeQrSvg(await qr.locator("svg").evaluate((svg) => svg.outerHTML));
  expect(uri).toMatch(/^otpauth:\/\/totp\//);
  const key = (await page.locator(".totp-key").textContent())!.replace(/\s+/g, "");
  expect(new URL(uri!).searchParams.get("secret")).toBe(key);
  const secret = decodeBase32IgnorePadding(key);

  const enrolStep = currentStep();
  await page.getByLabel("Code", { exact: true }).fill(codeForStep(secret, enrolStep));
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  await expect(page.getByRole("status")).toContainText("Two-factor authentication is on");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page);
  await expect(page).toHaveURL(/\/login\/2fa/);
  // The enrolment code was burned: the next step's code (inside the ±1 window) is the one to use.
  const signInStep = currentStep() + 1;
  await page.getByLabel("Code", { exact: true }).fill(codeForStep(secret, signInStep));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();

  await page.getByRole("link", { name: "Account" }).click();
  await waitForStepAfter(page, signInStep - 1);
  await page.getByLabel("Code", { exact: true }).fill(codeForStep(secret, currentStep() + 1));
  await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
  await expect(page.getByRole("status")).toContainText("Two-factor authentication is off");
});

test("the setup page works without JavaScript and shows a clear error for a wrong code", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page);
  // 2FA is off again after the previous test, so the password alone signs in.
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
  await page.goto("/app/account");
  await expect(page.getByText("Off", { exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Set up two-factor authentication" }).click();
  await page.getByLabel("Code", { exact: true }).fill("000000");
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  await expect(page.getByText("That code does not match.")).toBeVisible();
  await expect(page.getByLabel("Code", { exact: true })).toHaveValue("");
  await context.close();
});
