// The documented local Cron Trigger (README, docs/deploy.md): `GET /__scheduled` on a local server
// (started with `--test-scheduled` by scripts/local.ts, like `npm run dev`) reaches the worker's
// scheduled handler. On the demo data the first run sends the reminders due today; a second run the
// same day sends nothing. The handler is awaited, so the outbox is complete when the answer comes.
import { expect, test, type Page } from "./fixtures";

const CRON = "/__scheduled?cron=*/5+*+*+*+*";
// The demo seed sends every contact two gentle-schedule requests, due in 10+i and 3+i days for the
// i-th contact; gentle reminders fall every 7 days before the due date, so on the seeding day only
// the fifth contact (Chloe, due in 14 and 7 days) has reminders due.
const DEMO_TITLES = ["2025 tax return documents", "Bank statements for Q3"];

type Email = { subject: string; to: string; link: string | null };

async function demoRequestEmails(page: Page): Promise<Email[]> {
  await page.goto("/dev/outbox");
  await expect(page.getByRole("heading", { name: "Dev outbox" })).toBeVisible();
  const emails: Email[] = [];
  for (const article of await page.locator("article").all()) {
    const subject = (await article.getByRole("heading").textContent()) ?? "";
    if (!DEMO_TITLES.some((title) => subject.endsWith(title))) continue;
    const meta = (await article.locator("p").first().textContent()) ?? "";
    emails.push({ subject, to: /To (\S+)/.exec(meta)?.[1] ?? "", link: await article.getByRole("link").first().getAttribute("href") });
  }
  return emails;
}

test("the local cron trigger sends today's demo reminders once, with links to this server", async ({ page, baseURL }) => {
  const before = await demoRequestEmails(page);

  const first = await page.request.get(CRON);
  expect(first.status()).toBe(200);
  expect(await first.text()).toContain("Ran scheduled event");
  const afterFirst = await demoRequestEmails(page);
  const sent = afterFirst.slice(0, afterFirst.length - before.length);
  expect(sent.map((e) => `${e.to} ${e.subject}`).sort()).toEqual([
    "chloe@client.test Harbor & Co: 2025 tax return documents",
    "chloe@client.test Harbor & Co: Bank statements for Q3",
  ]);
  // Emailed links point at the port this server runs on (APP_URL follows the port).
  for (const email of sent) expect(email.link?.startsWith(`${baseURL}/l/`), email.link ?? "no link").toBe(true);

  const second = await page.request.get(CRON);
  expect(second.status()).toBe(200);
  expect(await demoRequestEmails(page)).toHaveLength(afterFirst.length);
});
