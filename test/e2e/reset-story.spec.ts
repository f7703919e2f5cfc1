// Issue 5, the whole 2FA-reset story from both sides, on the test's own firm: the firm moves to
// "Magic link + Login 2FA", Marcus signs in with his authenticator, loses his phone, an admin deactivates
// his 2FA, his open browser is signed out, he enrols again and is emailed.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { expect, test, type Page } from "./fixtures";
import { Authenticator, remixSettled, signInStaff, submitClientSignIn } from "./helpers";

const SETTINGS = "/app/settings/client-portal/security";
const TWO_FACTOR_MODE = "Magic link + Login 2FA";

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

test("an admin deactivates a client's 2FA: the client's browser is signed out, they enrol again and are emailed", async ({ browser, firm }) => {
  test.setTimeout(150_000);
  const marcus = firm.contacts.marcus;
  const BASE = firm.portal;
  const adminContext = await browser.newContext();
  const marcusContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const client = await marcusContext.newPage();

  // 1. The admin requires 2FA for every client of the firm.
  await signInStaff(admin, firm.admin);
  await switchMode(admin, TWO_FACTOR_MODE);

  // 2. Marcus signs in with his password and a code from his authenticator app.
  await submitClientSignIn(client, BASE, marcus);
  await expect(client).toHaveURL(new RegExp(`${BASE}/2fa$`));
  const oldKey = marcus.account!.totpKey!;
  await client.getByLabel("Code", { exact: true }).fill(await new Authenticator(decodeBase32IgnorePadding(oldKey)).code());
  await client.getByRole("button", { name: "Verify" }).click();
  await expect(client.getByRole("heading", { name: "Your requests" })).toBeVisible();

  // 3. He lost his phone; the admin deactivates his 2FA from Contacts › Marcus Lee.
  await admin.getByRole("link", { name: "Contacts" }).first().click();
  await admin.getByRole("link", { name: marcus.name }).click();
  await expect(admin.getByRole("heading", { name: marcus.name })).toBeVisible();
  const portal = admin.getByRole("region", { name: "Client portal" });
  await expect(portal).toContainText(marcus.email);
  await expect(portal).toContainText("On since");
  await admin.getByRole("link", { name: "Edit login details" }).click();
  await expect(admin.getByRole("heading", { name: "Edit login details" })).toBeVisible();
  // Staff never see the client's secret.
  await expect(admin.locator("body")).not.toContainText(oldKey);
  await admin.getByLabel("Reason").fill("Marcus lost his phone; confirmed by a call");
  await admin.getByLabel("I have checked that this request really comes from the client.").check();
  await admin.getByRole("button", { name: "Deactivate two-factor authentication" }).click();
  await expect(admin.getByRole("status")).toContainText("Two-factor authentication was deactivated. The client was signed out and emailed.");
  await admin.getByRole("link", { name: `← ${marcus.name}` }).click();
  await expect(admin.getByRole("region", { name: "Client portal" })).toContainText("Required, not set up yet");

  // 4. Marcus's open browser is signed out on its next request.
  await client.reload();
  await expect(client.getByRole("heading", { name: "Your requests" })).toHaveCount(0);
  await expect(client).not.toHaveURL(new RegExp(`${BASE}/requests`));
  await client.goto(`${BASE}/requests`);
  await expect(client.getByRole("heading", { name: "Your requests" })).toHaveCount(0);

  // 5. He signs in again and is taken to set up 2FA with a new key; the old key no longer matters.
  await submitClientSignIn(client, BASE, marcus);
  await expect(client).toHaveURL(new RegExp(`${BASE}/2fa/setup$`));
  await expect(client.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();
  const key = (await client.locator(".totp-key").textContent())!.replace(/\s+/g, "");
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  expect(key).not.toBe(oldKey);
  await client.getByLabel("Code", { exact: true }).fill(await new Authenticator(decodeBase32IgnorePadding(key)).code());
  await client.getByRole("button", { name: "Verify" }).click();
  await expect(client.getByRole("heading", { name: "Two-factor authentication is on" })).toBeVisible();
  const codes = await client.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  // The codes are shown once, so they must stay on screen until he moves on: once everything the
  // submission set off has finished, no revalidation has redirected away from them.
  await remixSettled(client);
  await expect(client).toHaveURL(new RegExp(`${BASE}/2fa/setup$`));
  await expect(client.getByRole("list", { name: "Recovery codes" }).getByRole("listitem")).toHaveText(codes);
  await client.getByRole("link", { name: "Continue to your requests" }).click();
  await expect(client.getByRole("heading", { name: "Your requests" })).toBeVisible();

  // 6. The reset email is in the dev outbox, to Marcus.
  await admin.goto("/dev/outbox");
  const email = admin.getByRole("article", { name: /two-factor authentication was reset/ }).filter({ hasText: `To ${marcus.email}` });
  await expect(email).toHaveCount(1);

  // 7. The admin sees the reset in the audit log, with the reason.
  await admin.goto("/app/settings/audit-log?type=client.two_factor_reset");
  await expect(admin.getByRole("table")).toContainText("Marcus lost his phone; confirmed by a call");
  await adminContext.close();
  await marcusContext.close();
});
