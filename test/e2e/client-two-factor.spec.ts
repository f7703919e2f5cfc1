// Client 2FA in a real browser: enrol from the secret on the page (the QR code decodes to it), sign out,
// sign in with password and a fresh code, then get in with a recovery code.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test, type Page } from "./fixtures";
import { codeForStep, currentStep } from "../../app/server/auth/totp.server";
import { decodeQrSvg } from "../support/qr";

const BASE = "/portal/harbor";

async function passwordSignIn(page: Page) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").first().fill("olivia@client.test");
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a client enrols with an authenticator app, signs in with a fresh code, then uses a recovery code", async ({ page }) => {
  test.setTimeout(120_000);
  await passwordSignIn(page);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("link", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();

  const qr = page.getByRole("img", { name: /QR code/ });
  const uri = decodeQrSvg(await qr.locator("svg").evaluate((svg) => svg.outerHTML));
  const key = (await page.locator(".totp-key").textContent())!.replace(/\s+/g, "");
  expect(new URL(uri!).searchParams.get("secret")).toBe(key);
  const secret = decodeBase32IgnorePadding(key);

  const enrolStep = currentStep();
  await page.getByLabel("Code", { exact: true }).fill(codeForStep(secret, enrolStep));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  // The codes stay on screen after the page settles (no revalidation navigates away from them).
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(500);
  await expect(page.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  expect(codes).toHaveLength(10);
  await expect(page.getByRole("link", { name: "Download" })).toHaveAttribute("download", "recovery-codes.txt");
  await page.getByRole("link", { name: "Continue to your requests" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();

  await passwordSignIn(page);
  await expect(page).toHaveURL(new RegExp(`${BASE}/2fa$`));
  // The enrolment code was burned; the next step's code is inside the ±1 window.
  await page.getByLabel("Code", { exact: true }).fill(codeForStep(secret, enrolStep + 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();

  // Phone lost: a recovery code gets the client in once and turns 2FA off (the firm does not require it).
  await passwordSignIn(page);
  await page.getByRole("link", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("link", { name: "Set up two-factor authentication" })).toBeVisible();
});
