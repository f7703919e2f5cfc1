// Issue 13 in the browser: staff add and edit a contact, invite selected contacts in bulk (without
// JavaScript too), and read portal adoption as a chart with its table.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "./fixtures";
import { signInStaff } from "./helpers";

async function expectNoViolations(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  expect(
    results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    label,
  ).toEqual([]);
}

test("a staff member adds a contact, is told when the email is taken, then edits the contact", async ({ page, firm }) => {
  const tag = firm.id.slice("firm_".length);
  await signInStaff(page, firm.member);
  await page.getByRole("link", { name: "Add contact" }).click();
  await expect(page.getByRole("heading", { name: "Add contact" })).toBeVisible();
  await expectNoViolations(page, "add contact");

  // An address another contact uses, typed in another case.
  await page.getByLabel("Name").fill(`Grace ${tag}`);
  await page.getByLabel("Email").fill(firm.contacts.olivia.email.toUpperCase());
  await page.getByRole("button", { name: "Add contact" }).click();
  await expect(page.getByRole("alert")).toContainText("Another contact of your firm already uses this email.");
  await expect(page.getByLabel("Name")).toHaveValue(`Grace ${tag}`);
  await expectNoViolations(page, "add contact with an error");

  await page.getByLabel("Email").fill(`grace.${tag}@client.test`);
  await page.getByLabel("Company or entity").fill("Hopper Holdings");
  await page.getByLabel("Notes").fill("Met at the spring seminar.");
  await page.getByRole("button", { name: "Add contact" }).click();
  await expect(page.getByRole("heading", { name: `Grace ${tag}` })).toBeVisible();
  await expect(page.getByRole("status")).toContainText("The contact was added.");
  const details = page.getByRole("region", { name: "Details" });
  await expect(details).toContainText("Hopper Holdings");
  await expect(details).toContainText("Met at the spring seminar.");

  await page.getByRole("link", { name: "Edit contact" }).click();
  await expect(page.getByRole("heading", { name: "Edit contact" })).toBeVisible();
  await expectNoViolations(page, "edit contact");
  await page.getByLabel("Phone").fill("+1 555 0100");
  await page.getByLabel("Email").fill(`grace.hopper.${tag}@client.test`);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status")).toContainText("Saved.");
  await expect(details).toContainText("+1 555 0100");
  await expect(details).toContainText(`grace.hopper.${tag}@client.test`);

  // A contact with a login: the email is the login email, changed only with Edit login details.
  await page.goto("/app/contacts");
  await page.getByRole("link", { name: "Olivia Park" }).click();
  await page.getByRole("link", { name: "Edit contact" }).click();
  await expect(page.getByLabel("Email")).toHaveAttribute("readonly", "");
  await expect(page.getByText("This is the client's portal login email.")).toBeVisible();
});

test("bulk portal invite to selected contacts works without JavaScript, and the list shows them as invited", async ({ browser, firm }) => {
  const tag = firm.id.slice("firm_".length);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signInStaff(page, firm.member);
  for (const name of ["Ivy", "Jay"]) {
    await page.goto("/app/contacts/new");
    await page.getByLabel("Name").fill(`${name} Bulk${tag}`);
    await page.getByLabel("Email").fill(`${name.toLowerCase()}.${tag}@client.test`);
    await page.getByRole("button", { name: "Add contact" }).click();
    await expect(page.getByRole("heading", { name: `${name} Bulk${tag}` })).toBeVisible();
  }
  await page.goto(`/app/contacts?q=Bulk${tag}`);
  await expect(page.getByRole("link", { name: `Ivy Bulk${tag}` })).toBeVisible();
  await page.getByRole("checkbox", { name: `Select Ivy Bulk${tag}` }).check();
  await page.getByRole("checkbox", { name: `Select Jay Bulk${tag}` }).check();
  await page.getByRole("button", { name: "Send portal invite", exact: true }).click();

  await expect(page.getByRole("heading", { name: "2 contacts will be emailed" })).toBeVisible();
  await page.getByRole("button", { name: "Send portal invite", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Invites sent" })).toBeVisible();
  await expect(page.getByText("2 of 2 handled")).toBeVisible();

  await page.goto(`/app/contacts?q=Bulk${tag}`);
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.getByRole("row", { name: new RegExp(`Ivy Bulk${tag}`) })).toContainText(`Invited ${today}`);
  await expect(page.getByRole("row", { name: new RegExp(`Jay Bulk${tag}`) })).toContainText(`Invited ${today}`);
  await page.getByRole("link", { name: `Ivy Bulk${tag}` }).click();
  await expect(page.getByRole("region", { name: "Client portal" })).toContainText(`Invited ${today}`);

  await page.goto("/dev/outbox");
  for (const name of ["ivy", "jay"]) {
    const message = page.locator("article", { hasText: `To ${name}.${tag}@client.test` }).first();
    await expect(message).toContainText("invites you to their client portal");
  }
  await context.close();
});

test("the bulk invite with JavaScript sends and shows progress", async ({ page, firm }) => {
  const tag = firm.id.slice("firm_".length);
  await signInStaff(page, firm.admin);
  await page.goto("/app/contacts/new");
  await page.getByLabel("Name").fill(`Kim Js${tag}`);
  await page.getByLabel("Email").fill(`kim.${tag}@client.test`);
  await page.getByRole("button", { name: "Add contact" }).click();
  await expect(page.getByRole("heading", { name: `Kim Js${tag}` })).toBeVisible();
  await page.goto(`/app/contacts?q=Js${tag}`);
  await page.getByRole("checkbox", { name: `Select Kim Js${tag}` }).check();
  await page.getByRole("button", { name: "Send portal invite", exact: true }).click();
  await expect(page.getByRole("heading", { name: "1 contact will be emailed" })).toBeVisible();
  await expectNoViolations(page, "invite review");
  await page.getByRole("button", { name: "Send portal invite", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Invites sent" })).toBeVisible();
  await expectNoViolations(page, "invite progress");
});

test("portal adoption: the chart is an image with a name, and its numbers are a table", async ({ page, firm }) => {
  await signInStaff(page, firm.admin);
  for (const path of ["/app/contacts", "/app/settings/client-portal/security"]) {
    await page.goto(path);
    const adoption = page.getByRole("region", { name: "Portal adoption" });
    await expect(adoption).toContainText("Clients with a portal account");
    await expect(adoption.getByRole("img", { name: "Client sign-ins by method, last 12 weeks" })).toBeVisible();
    const details = adoption.locator("details");
    if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await adoption.getByText("Sign-ins per week as a table").click();
    const table = adoption.getByRole("table", { name: /Sign-ins by method, per week/ });
    await expect(table).toBeVisible();
    await expect(table.getByRole("row")).toHaveCount(13);
    await expect(table.getByRole("columnheader", { name: "Password + 2FA" })).toBeVisible();
    await expectNoViolations(page, path);
  }
});
