// Staff 2FA in a real browser: enrol from the QR code (decoded with a QR decoder) and the key shown,
// sign out, sign in with password and a fresh code, then turn 2FA off with another code.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test, type Page } from "./fixtures";
import { Authenticator } from "./helpers";
import { decodeQrSvg } from "../support/qr";

async function submitSignIn(page: Page, person: { email: string; password: string }) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("staff enrols with an authenticator app, signs in with a code, and turns 2FA off", async ({ page, firm }) => {
  test.setTimeout(120_000);
  await submitSignIn(page, firm.member);
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
  const app = new Authenticator(decodeBase32IgnorePadding(key));

  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  await expect(page.getByRole("status")).toContainText("Two-factor authentication is on");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await submitSignIn(page, firm.member);
  await expect(page).toHaveURL(/\/login\/2fa/);
  // The enrolment code was burned: the authenticator gives a newer step's code.
  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();

  await page.getByRole("link", { name: "Account" }).click();
  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
  await expect(page.getByRole("status")).toContainText("Two-factor authentication is off");
});

test("the setup page works without JavaScript and shows a clear error for a wrong code", async ({ browser, firm }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await submitSignIn(page, firm.member);
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
