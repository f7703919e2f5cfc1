import { expect, test, type Page } from "./fixtures";

async function staffSignIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
}

/** Opens the newest email to `to` in the dev outbox and returns the portal link in it. */
async function latestLinkFromOutbox(page: Page, to: string): Promise<string> {
  await page.goto("/dev/outbox");
  const message = page.locator("article", { hasText: `To ${to}` }).first();
  await expect(message).toBeVisible();
  return (await message.getByRole("link").first().getAttribute("href"))!;
}

test("a client opens an emailed link, continues, sees requests, creates a login and signs in with it", async ({ page, browser }) => {
  await staffSignIn(page, "staff@harbor.test");
  await page.getByRole("link", { name: "Nina Patel" }).click();
  await page.getByRole("button", { name: "Send portal invite" }).click();
  await expect(page.getByRole("status")).toContainText("We emailed a portal link to nina@client.test");
  const link = await latestLinkFromOutbox(page, "nina@client.test");
  expect(link).toMatch(/\/l\/[A-Za-z0-9_-]{43}$/);

  const client = await browser.newContext();
  const portal = await client.newPage();
  await portal.goto(link);
  await expect(portal.getByRole("heading", { name: "Continue to Harbor & Co portal" })).toBeVisible();
  await portal.getByRole("button", { name: "Continue" }).click();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await expect(portal.getByRole("link", { name: "2025 tax return documents" })).toBeVisible();

  await portal.goto("/portal/harbor/signup");
  await expect(portal.getByText("nina@client.test")).toBeVisible();
  await portal.getByLabel("Password").fill("nina's long portal passphrase");
  await portal.getByRole("button", { name: "Create a login" }).click();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await portal.getByRole("button", { name: "Sign out" }).click();

  await portal.goto("/portal/harbor/login");
  await portal.getByLabel("Email").first().fill("nina@client.test");
  await portal.getByLabel("Password").fill("nina's long portal passphrase");
  await portal.getByRole("button", { name: "Sign in" }).click();
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

test("an admin switches to Magic link only and the client's password sign-in is refused", async ({ page, browser }) => {
  const client = await browser.newContext();
  const portal = await client.newPage();
  await portal.goto("/portal/northwind/login");
  await portal.getByLabel("Email").first().fill("oscar@client.test");
  await portal.getByLabel("Password").fill("demo-password-2026");
  await portal.getByRole("button", { name: "Sign in" }).click();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toBeVisible();

  await staffSignIn(page, "admin@northwind.test");
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Security and Two-Factor" })).toBeVisible();
  await expect(page.getByLabel("Magic link + Login 2FA")).toBeDisabled();
  await page.getByLabel("Magic link only").check();
  await page.getByRole("button", { name: "Save" }).click();
  // At least Oscar's session (other specs may have left more of his sessions open).
  await expect(page.getByText(/^[1-9]\d* client sessions? will end\.$/)).toBeVisible();
  await page.getByRole("button", { name: "Confirm and save" }).click();
  await expect(page.getByRole("status")).toContainText("Magic link only");

  // The live session ends on the next click, and the password no longer works.
  await portal.reload();
  await expect(portal.getByRole("heading", { name: "Your requests" })).toHaveCount(0);
  await portal.goto("/portal/northwind/login");
  await expect(portal.getByRole("heading", { name: "Sign in with an email link" })).toBeVisible();
  await expect(portal.getByLabel("Password")).toHaveCount(0);
  await client.close();

  // Restore the demo setting for whoever runs next.
  await page.goto("/app/settings/client-portal/security");
  await page.getByLabel("Magic link + Login", { exact: false }).first().check();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("button", { name: "Confirm and save" }).click();
  await expect(page.getByRole("status")).toContainText("Magic link + Login");
});
