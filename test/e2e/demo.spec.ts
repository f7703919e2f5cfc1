// The demo the README promises (README "Demo"): its logins work on a fresh server. These tests only
// read the demo firms (a sign-in writes its audit event and nothing more), so they need no firm of
// their own and leave nothing for other tests to trip on. Every other spec makes its own firm.
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { DEMO_PASSWORD, MARCUS_TOTP_KEY } from "../../db/seed";
import { expect, test } from "./fixtures";
import { Authenticator, signInStaff, submitClientSignIn } from "./helpers";

test("the demo staff logins open their own firm's contacts only", async ({ page }) => {
  await page.goto("/app/contacts");
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
  await signInStaff(page, { email: "admin@harbor.test", password: DEMO_PASSWORD });
  await expect(page.getByRole("link", { name: "Olivia Park" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Oscar Reyes" })).toHaveCount(0);
  await page.getByRole("link", { name: "Marcus Lee" }).click();
  const portal = page.getByRole("region", { name: "Client portal" });
  await expect(portal).toContainText("marcus@client.test");
  await expect(portal).toContainText("On since");
  await page.getByRole("button", { name: "Sign out" }).click();

  for (const email of ["staff@harbor.test", "admin@northwind.test"]) {
    await signInStaff(page, { email, password: DEMO_PASSWORD });
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
  }
});

test("the demo clients sign in: Olivia and Oscar with a password, Marcus with the documented TOTP key", async ({ browser }) => {
  for (const [portal, email] of [
    ["/portal/harbor", "olivia@client.test"],
    ["/portal/northwind", "oscar@client.test"],
  ]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await submitClientSignIn(page, portal, { email, account: { password: DEMO_PASSWORD } });
    await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
    await expect(page.getByRole("link", { name: "2025 tax return documents" })).toBeVisible();
    await context.close();
  }

  const context = await browser.newContext();
  const page = await context.newPage();
  await submitClientSignIn(page, "/portal/harbor", { email: "marcus@client.test", account: { password: DEMO_PASSWORD } });
  await expect(page).toHaveURL(/\/portal\/harbor\/2fa$/);
  await page.getByLabel("Code", { exact: true }).fill(await new Authenticator(decodeBase32IgnorePadding(MARCUS_TOTP_KEY)).code());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await context.close();
});
