// Steps several browser specs share: signing in, reading the dev outbox, TOTP codes, waiting for Remix.
import { codeForStep, currentStep } from "../../app/server/auth/totp.server";
import { expect, type Page } from "./fixtures";

export async function signInStaff(page: Page, person: { email: string; password: string }): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Contacts", exact: true })).toBeVisible();
}

/** Fills the portal's password sign-in form; where it leads depends on the firm's mode and the account. */
export async function submitClientSignIn(page: Page, portal: string, client: { email: string; account: { password: string } | null }): Promise<void> {
  await page.goto(`${portal}/login`);
  await page.getByLabel("Email").first().fill(client.email);
  await page.getByLabel("Password").fill(client.account!.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** The newest email to `to` (and about `subject`, if given) in the dev outbox: the first link in it. */
export async function latestLink(page: Page, to: string, subject?: string): Promise<string> {
  await page.goto("/dev/outbox");
  let message = page.locator("article", { hasText: `To ${to}` });
  if (subject) message = message.filter({ hasText: subject });
  await expect(message.first()).toBeVisible();
  return (await message.first().getByRole("link").first().getAttribute("href"))!;
}

/**
 * Waits until Remix has no navigation, revalidation or fetcher in flight: whatever the last submission
 * set off (its action, the loaders it revalidates, a redirect) has finished. Asserting that a page
 * stayed put is only meaningful after this.
 */
export async function remixSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    type RouterState = { navigation: { state: string }; revalidation: string; fetchers: Map<string, { state: string }> };
    const router = (window as unknown as { __remixRouter?: { state: RouterState } }).__remixRouter;
    if (!router) return false;
    const { navigation, revalidation, fetchers } = router.state;
    return navigation.state === "idle" && revalidation === "idle" && [...fetchers.values()].every((f) => f.state === "idle");
  });
}

/**
 * An authenticator app for one account. The server accepts each 30-second step once per account and
 * one step either side of its clock, so every code comes from a step newer than the last one used;
 * when even the next step was used, it waits for the clock to reach a new step (the condition, polled),
 * not for a fixed time.
 */
export class Authenticator {
  private lastStep = -1;
  constructor(private readonly secret: Uint8Array) {}

  async code(): Promise<string> {
    if (currentStep() + 1 <= this.lastStep) {
      const used = this.lastStep;
      await expect.poll(() => currentStep() + 1, { timeout: 65_000, intervals: [250] }).toBeGreaterThan(used);
    }
    this.lastStep = Math.max(currentStep(), this.lastStep + 1);
    return codeForStep(this.secret, this.lastStep);
  }
}
