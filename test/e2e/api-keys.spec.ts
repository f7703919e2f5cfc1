// Settings › API keys in a real browser: an admin finds the page in the navigation, creates a key that is
// shown once, uses it, and revokes it (SECURITY.md rule 36). Uses its own firm admin of the demo data
// (northwind, team plan) and names its key uniquely, so reruns and other tests are not affected.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "./fixtures";

test("an admin creates a key (shown once), the API accepts it, and a revoked key is refused", async ({ page, request }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@northwind.test");
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
  await expect(page.getByRole("heading", { name: "API keys", level: 1 })).toBeVisible();

  const name = `E2E sync ${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Read and write").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByLabel("New API key");
  await expect(shown).toBeVisible();
  const key = await shown.inputValue();
  expect(key).toMatch(/^cpk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);

  const headers = { authorization: `Bearer ${key}` };
  const contacts = await request.get("/api/v1/contacts?search=oscar", { headers });
  expect(contacts.status()).toBe(200);
  expect(JSON.stringify(await contacts.json())).toContain("oscar@client.test");

  // Shown once: a reload lists the key by name and hint, never the key itself.
  await page.goto("/app/settings/api-keys");
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Read and write");
  await expect(page.getByLabel("New API key")).toHaveCount(0);
  expect(await page.content()).not.toContain(key);

  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(page.getByRole("status")).toContainText("The key was revoked.");
  await expect(page.getByRole("row").filter({ hasText: name })).toContainText("Revoked");
  expect((await request.get("/api/v1/contacts", { headers })).status()).toBe(401);
});

test("the API reference page renders without scripts", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto("/api/v1/docs");
  await expect(page.getByRole("heading", { name: /Client Portal API/, level: 1 })).toBeVisible();
  await expect(page.getByRole("link", { name: /POST \/contacts\/\{contactId\}\/portal-link/ })).toBeVisible();
  expect(errors).toEqual([]);
});
