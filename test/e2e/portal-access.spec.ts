// The client's ways in, on the test's own firm: an emailed invite link, a login created from it, and a
// firm switching to "Magic link only".
import { expect, test } from "./fixtures";
import { latestLink, signInStaff, submitClientSignIn } from "./helpers";

test("a client opens an emailed link, continues, sees requests, creates a login and signs in with it", async ({ page, browser, firm }) => {
  const nina = firm.contacts.nina;
  await signInStaff(page, firm.member);
  await page.getByRole("link", { name: nina.name }).click();
  // The contact list has a "Send portal invite" button too (the bulk one): click only once on her page.
  await expect(page.getByRole("heading", { name: nina.name })).toBeVisible();
  await page.getByRole("button", { name: "Send portal invite" }).click();
  await expect(page.getByRole("status")).toContainText(`We emailed a portal link to ${nina.email}`);
  const link = await latestLink(page, nina.email);
  expect(link).toMatch(/\/l\/[A-Za-z0-9_-]{43}$/);

  const client = await browser.newContext();
  const portal = await client.newPage();
  await portal.goto(link);
  await expect(portal.getByRole("heading", { name: `Continue to ${firm.name} portal` })).toBeVisible();
  await portal.getByRole("button", { name: "Continue" }).click();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await expect(portal.getByRole("link", { name: "2025 tax return documents" })).toBeVisible();

  await portal.goto(`${firm.portal}/signup`);
  await expect(portal.getByText(nina.email)).toBeVisible();
  await portal.getByLabel("Password").fill("nina's long portal passphrase");
  await portal.getByRole("button", { name: "Create a login" }).click();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await portal.getByRole("button", { name: "Sign out" }).click();

  await submitClientSignIn(portal, firm.portal, { email: nina.email, account: { password: "nina's long portal passphrase" } });
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();

  // The same link in another browser is declined with one button, already on opening it (GET and POST
  // are decided by the same rule).
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(link);
  await expect(otherPage.getByRole("heading", { name: "This link was opened on another device" })).toBeVisible();
  await expect(otherPage.getByRole("button", { name: "Email me a new link" })).toBeVisible();
  await client.close();
  await other.close();
});

test("an admin switches to Magic link only and the client's password sign-in is refused", async ({ page, browser, makeFirm }) => {
  const firm = await makeFirm({ plan: "team", contacts: [{ key: "oscar", name: "Oscar Reyes", account: "password", requests: true }] });
  const client = await browser.newContext();
  const portal = await client.newPage();
  await submitClientSignIn(portal, firm.portal, firm.contacts.oscar);
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();

  await signInStaff(page, firm.admin);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Security and Two-Factor" })).toBeVisible();
  // The 2FA mode is not on the team plan.
  await expect(page.getByLabel("Magic link + Login 2FA")).toBeDisabled();
  await page.getByLabel("Magic link only").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("1 client session will end.", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Confirm and save" }).click();
  await expect(page.getByRole("status")).toContainText("Magic link only");

  // The live session ends on the next click, and the password no longer works.
  await portal.reload();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toHaveCount(0);
  await portal.goto(`${firm.portal}/login`);
  await expect(portal.getByRole("heading", { name: "Sign in with an email link" })).toBeVisible();
  await expect(portal.getByLabel("Password")).toHaveCount(0);
  await client.close();
});
