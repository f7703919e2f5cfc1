// Staff sign-in, on two firms of the test's own: each sees only its own contacts.
import { expect, test } from "./fixtures";

test("staff signs in, sees only their firm's contacts, opens one, signs out", async ({ page, firm, makeFirm }) => {
  const other = await makeFirm({ contacts: [{ key: "oscar", name: "Oscar Reyes", account: "password" }] });
  await page.goto("/app/contacts");
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
  await page.getByLabel("Email").fill(firm.admin.email);
  await page.getByLabel("Password").fill(firm.admin.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Olivia Park" })).toBeVisible();
  await expect(page.getByRole("link", { name: other.contacts.oscar.name })).toHaveCount(0);

  await page.getByRole("link", { name: "Marcus Lee" }).click();
  await expect(page.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();
  const portal = page.getByRole("region", { name: "Client portal" });
  await expect(portal).toContainText(firm.contacts.marcus.email);
  await expect(portal).toContainText("On since");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/app/contacts");
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
});

test("the sign-in form works without JavaScript and shows a clear error", async ({ browser, firm, makeFirm }) => {
  const other = await makeFirm();
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(other.admin.email);
  await page.getByLabel("Password").fill("wrong-password-here");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("The email or password is incorrect.");
  await page.getByLabel("Email").fill(firm.admin.email);
  await page.getByLabel("Password").fill(firm.admin.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("link", { name: "Olivia Park" })).toBeVisible();
  await expect(page.getByText(other.name)).toHaveCount(0);
  await context.close();
});

test("app links navigate in the page once hydrated, mark the current page in the nav, and leave other clicks to the browser", async ({ page, context, firm }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(firm.admin.email);
  await page.getByLabel("Password").fill(firm.admin.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Contacts", exact: true })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Contacts" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Requests" })).not.toHaveAttribute("aria-current", /.*/);

  // A mark on this document survives only a client-side navigation: a document load would drop it.
  await expect(page.locator("html")).toHaveAttribute("data-app-links", "on");
  await page.evaluate(() => ((window as unknown as { documentMark: string }).documentMark = "kept"));
  const documentMark = () => page.evaluate(() => (window as unknown as { documentMark?: string }).documentMark ?? "gone");
  await page.getByRole("link", { name: "Marcus Lee" }).click();
  await expect(page.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();
  expect(await documentMark()).toBe("kept");
  // Still under Contacts; then by keyboard to Requests, which becomes the current page.
  await expect(nav.getByRole("link", { name: "Contacts" })).toHaveAttribute("aria-current", "page");
  await nav.getByRole("link", { name: "Requests" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Requests", exact: true })).toBeVisible();
  expect(await documentMark()).toBe("kept");
  await expect(nav.getByRole("link", { name: "Requests" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Contacts" })).not.toHaveAttribute("aria-current", /.*/);
  // Back works as after any navigation.
  await page.goBack();
  await expect(page.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();

  // A modified click (open in a new tab) is the browser's: this page stays, a new one opens there.
  const opened = context.waitForEvent("page");
  await nav.getByRole("link", { name: "Account" }).click({ modifiers: ["ControlOrMeta"] });
  const tab = await opened;
  await tab.waitForLoadState();
  expect(new URL(tab.url()).pathname).toBe("/app/account");
  await expect(page.getByRole("heading", { name: "Marcus Lee" })).toBeVisible();
  await tab.close();
});
