// Automated accessibility checks (axe-core, WCAG 2.1 A and AA rules) on the main pages of both sides,
// on a phone-sized and a desktop viewport. Manual checks (focus order, screen-reader wording) still matter.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "./fixtures";

async function expectNoViolations(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(summary, label).toEqual([]);
}

for (const viewport of [
  { name: "phone", width: 375, height: 740 },
  { name: "desktop", width: 1280, height: 800 },
]) {
  test(`public and client pages have no axe violations (${viewport.name})`, async ({ page, firm }) => {
    const client = firm.contacts.olivia;
    await page.setViewportSize(viewport);
    for (const path of ["/login", firm.portal, `${firm.portal}/login`, `${firm.portal}/signup`, `${firm.portal}/forgot-password`, `${firm.portal}/help/two-factor`]) {
      await page.goto(path);
      await expectNoViolations(page, path);
    }
    await page.goto(`${firm.portal}/login`);
    await page.getByLabel("Email").first().fill(client.email);
    await page.getByLabel("Password").fill(client.account!.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
    await expectNoViolations(page, "client requests");
    await page.getByRole("link", { name: "2025 tax return documents" }).click();
    await expectNoViolations(page, "client request");
    await page.goto(`${firm.portal}/account`);
    await expectNoViolations(page, "client account");
    await page.goto(`${firm.portal}/2fa/setup`);
    await expectNoViolations(page, "client 2FA set-up");
  });

  test(`staff pages have no axe violations (${viewport.name})`, async ({ page, firm }) => {
    const contact = firm.contacts.olivia;
    await page.setViewportSize(viewport);
    await page.goto("/login");
    await page.getByLabel("Email").fill(firm.admin.email);
    await page.getByLabel("Password").fill(firm.admin.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Contacts" })).toBeVisible();
    for (const path of [
      "/app/contacts",
      `/app/contacts/${contact.id}`,
      `/app/contacts/${contact.id}/login-details`,
      "/app/requests",
      "/app/requests/new",
      "/app/settings/client-portal/security",
      "/app/settings/audit-log",
      "/app/account",
    ]) {
      await page.goto(path);
      await expectNoViolations(page, path);
    }
  });
}

test("the check can fail: an input without a label is reported", async ({ page }) => {
  await page.goto("/login");
  await page.waitForLoadState("networkidle"); // after hydration, so React does not put the page back
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "text";
    document.getElementById("main")!.appendChild(input);
  });
  await expect(page.locator("main > input")).toHaveCount(1);
  const results = await new AxeBuilder({ page }).withTags(["wcag2a"]).analyze();
  expect(results.violations.map((v) => v.id)).toContain("label");
});
