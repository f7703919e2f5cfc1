// Client 2FA in a real browser: enrol from the secret on the page (the QR code decodes to it), sign out,
// sign in with password and a fresh code, then get in with a recovery code.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test } from "./fixtures";
import { Authenticator, remixSettled, submitClientSignIn } from "./helpers";
import { decodeQrSvg } from "../support/qr";

test("a client enrols with an authenticator app, signs in with a fresh code, then uses a recovery code", async ({ page, firm }) => {
  test.setTimeout(120_000);
  const client = firm.contacts.olivia;
  await submitClientSignIn(page, firm.portal, client);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("link", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();

  const qr = page.getByRole("img", { name: /QR code/ });
  const uri = decodeQrSvg(await qr.locator("svg").evaluate((svg) => svg.outerHTML));
  const key = (await page.locator(".totp-key").textContent())!.replace(/\s+/g, "");
  expect(new URL(uri!).searchParams.get("secret")).toBe(key);
  const app = new Authenticator(decodeBase32IgnorePadding(key));

  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  // The codes stay on screen once everything the submission set off has finished (no revalidation
  // navigates away from them).
  await remixSettled(page);
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/2fa/setup$`));
  await expect(page.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  expect(codes).toHaveLength(10);
  await expect(page.getByRole("link", { name: "Download" })).toHaveAttribute("download", "recovery-codes.txt");
  await page.getByRole("link", { name: "Continue to your requests" }).click();
  // Both pages have "Sign out": click it once the requests page is there.
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();

  await submitClientSignIn(page, firm.portal, client);
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/2fa$`));
  // The enrolment code was burned; the authenticator gives a newer step's code.
  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();

  // Phone lost: a recovery code gets the client in once and turns 2FA off (the firm does not require it).
  await submitClientSignIn(page, firm.portal, client);
  await page.getByRole("link", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("link", { name: "Set up two-factor authentication" })).toBeVisible();
});
