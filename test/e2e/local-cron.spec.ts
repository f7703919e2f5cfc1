// The documented local Cron Trigger (README, docs/deploy.md), on the demo data the README describes:
// `GET /__scheduled` on a local server (started with `--test-scheduled` by scripts/local.ts, like
// `npm run dev`) reaches the worker's scheduled handler. The first run sends the demo reminders due
// today; a second run the same day sends nothing. The handler is awaited, so the outbox is complete
// when the answer comes. Other tests run at the same time with firms of their own, so only the demo
// firms' emails are counted.
import { readFileSync } from "node:fs";
import { E2E_SEEDED_DAY_FILE } from "../../scripts/e2e-state";
import { expect, test, type Page } from "./fixtures";

const CRON = "/__scheduled?cron=*/5+*+*+*+*";
// The demo seed sends every contact two gentle-schedule requests, due in 10+i and 3+i days for the
// i-th contact; gentle reminders fall every 7 days before the due date, so on the seeding day only
// the fifth contact (Chloe, due in 14 and 7 days) has reminders due.
const DEMO_FIRMS = ["Harbor & Co", "Northwind Tax"];
const DEMO_TITLES = ["2025 tax return documents", "Bank statements for Q3"];

type Email = { subject: string; to: string; link: string | null };

/** The demo firms' request emails in the dev outbox, as "to subject" lines. */
async function demoRequestEmails(page: Page): Promise<Email[]> {
  await page.goto("/dev/outbox");
  await expect(page.getByRole("heading", { name: "Dev outbox" })).toBeVisible();
  const emails: Email[] = [];
  for (const article of await page.locator("article").all()) {
    const subject = (await article.getByRole("heading").textContent()) ?? "";
    if (!DEMO_FIRMS.some((firm) => DEMO_TITLES.some((title) => subject.endsWith(`${firm}: ${title}`)))) continue;
    const meta = (await article.locator("p").first().textContent()) ?? "";
    emails.push({ subject, to: /To (\S+)/.exec(meta)?.[1] ?? "", link: await article.getByRole("link").first().getAttribute("href") });
  }
  return emails;
}

const key = (e: Email) => `${e.to} ${e.subject}`;

test("the local cron trigger sends today's demo reminders once, with links to this server", async ({ page, baseURL }) => {
  // The contacts due today follow from the seeding day; past UTC midnight since then, other ones are.
  test.skip(readFileSync(E2E_SEEDED_DAY_FILE, "utf8") !== new Date().toISOString().slice(0, 10), "UTC midnight passed since the demo data was seeded");
  const before = new Set((await demoRequestEmails(page)).map(key));

  const first = await page.request.get(CRON);
  expect(first.status()).toBe(200);
  expect(await first.text()).toContain("Ran scheduled event");
  const afterFirst = await demoRequestEmails(page);
  const sent = afterFirst.filter((e) => !before.has(key(e)));
  expect(sent.map(key).sort()).toEqual([
    "chloe@client.test Harbor & Co: 2025 tax return documents",
    "chloe@client.test Harbor & Co: Bank statements for Q3",
  ]);
  // Emailed links point at the port this server runs on (APP_URL follows the port).
  for (const email of sent) expect(email.link?.startsWith(`${baseURL}/l/`), email.link ?? "no link").toBe(true);

  const second = await page.request.get(CRON);
  expect(second.status()).toBe(200);
  expect(await demoRequestEmails(page)).toHaveLength(afterFirst.length);
});
