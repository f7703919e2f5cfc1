import { expect, test } from "./fixtures";

test("staff signs in, sees only their firm's contacts, opens one, signs out", async ({ page }) => {
  await page.goto("/app/contacts");
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
  await page.getByLabel("Email").fill("admin@harbor.test");
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Olivia Park" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Oscar Reyes" })).toHaveCount(0);

  await page.getByRole("link", { name: "Marcus Lee" }).click();
  await expect(page.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();
  const portal = page.getByRole("region", { name: "Client portal" });
  await expect(portal).toContainText("marcus@client.test");
  await expect(portal).toContainText("On since");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/app/contacts");
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
});

test("the sign-in form works without JavaScript and shows a clear error", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@northwind.test");
  await page.getByLabel("Password").fill("wrong-password-here");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("The email or password is incorrect.");
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("link", { name: "Oscar Reyes" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Olivia Park" })).toHaveCount(0);
  await context.close();
});
