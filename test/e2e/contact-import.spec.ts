// CSV import in the browser: upload, column choices, preview with problems, progress to completion,
// with JavaScript (the page drives the chunks) and without (Continue). Northwind's contacts are used;
// imported names start with "Zz" so they sort after the demo contacts other specs look for.
import { expect, test, type Page } from "./fixtures";

async function signIn(page: Page) {
  await page.goto("/login?redirectTo=%2Fapp%2Fcontacts%2Fimport");
  await page.getByLabel("Email").fill("admin@northwind.test");
  await page.getByLabel("Password").fill("demo-password-2026");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Import contacts" })).toBeVisible();
}

function csv(rows: number, tag: string, extra: string[] = []): Buffer {
  // Semicolons and a BOM, as Excel writes in much of Europe; the columns are in an unusual order.
  const lines = ["\ufeffE-mail;Company;Full name;Mobile", ...extra];
  for (let i = 0; i < rows; i++) lines.push(`zz-${tag}-${i}@import.test;"Firm; ${i}";Zz Import ${tag} ${String(i).padStart(4, "0")};+1 555 ${i}`);
  return Buffer.from(lines.join("\r\n") + "\r\n", "utf8");
}

test("upload, choose columns, check the preview and import 1,050 rows with a progress bar", async ({ page }) => {
  await signIn(page);
  const extra = ["oscar@client.test;;Oscar Again;", "not-an-email;;Broken Row;", "zz-js-1@import.test;;Zz Repeat;"];
  await page.getByLabel("CSV file", { exact: true }).setInputFiles({ name: "clients.csv", mimeType: "text/csv", buffer: csv(1_050, "js", extra) });
  await page.getByRole("button", { name: "Upload" }).click();

  await expect(page.getByRole("heading", { name: "Import clients.csv" })).toBeVisible();
  // The mapping was guessed from the header.
  await expect(page.getByLabel("E-mail", { exact: true })).toHaveValue("email");
  await expect(page.getByLabel("Full name", { exact: true })).toHaveValue("name");
  await expect(page.getByLabel("Mobile", { exact: true })).toHaveValue("phone");
  await expect(page.getByLabel("Company", { exact: true })).toHaveValue("company");
  const summary = page.getByRole("list", { name: "Summary" });
  await expect(summary).toContainText("1,053 rows in the file");
  await expect(summary).toContainText("1,050 new contacts");
  await expect(summary).toContainText("1 already contacts (will be skipped)");
  await expect(page.getByRole("table", { name: /Rows with a problem/ })).toContainText("Email is not a valid address");
  await expect(page.getByRole("table", { name: /Rows with a problem/ })).toContainText("Same email as row");

  // Leaving the company out, then updating the preview.
  await page.getByLabel("Company", { exact: true }).selectOption("");
  await page.getByRole("button", { name: "Update preview" }).click();
  await expect(page.getByLabel("Company", { exact: true })).toHaveValue("");
  await expect(page.getByRole("table", { name: /first 10 rows/ })).not.toContainText("Firm; 0");

  await page.getByRole("button", { name: "Import 1,050 contacts" }).click();
  // The first chunk runs with the form; the page's script asks for the rest and the bar fills up.
  await expect(page.getByRole("heading", { name: "Import complete" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("status")).toContainText("All 1,053 rows were read");
  const details = page.locator("dl.details");
  await expect(details).toContainText("Created1,050");
  await expect(details).toContainText("Skipped2");
  await expect(details).toContainText("Failed1");
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: /Download the report/ }).click();
  expect((await download).suggestedFilename()).toBe("clients-import-report.csv");

  await page.goto("/app/contacts?q=zz-js-1049");
  await expect(page.getByRole("link", { name: "Zz Import js 1049" })).toBeVisible();
});

test("without JavaScript: the import runs one chunk per Continue and shows its progress", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page);
  await page.getByLabel("CSV file", { exact: true }).setInputFiles({ name: "nojs.csv", mimeType: "text/csv", buffer: csv(510, "nojs") });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByRole("button", { name: "Import 510 contacts" }).click();
  await expect(page.getByText("500 of 510 rows")).toBeVisible();
  await expect(page.getByRole("progressbar")).toHaveAttribute("value", "500");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Import complete" })).toBeVisible();
  await expect(page.locator("dl.details")).toContainText("Created510");
  await context.close();
});
