import { readFileSync } from "node:fs";
import { expect, test } from "./fixtures";
import { latestLink, signInStaff } from "./helpers";

test("staff send a request; the client answers, uploads and ticks; staff see it complete and download the file", async ({ page, browser, firm }) => {
  const title = "Year-end documents";
  const chloe = firm.contacts.chloe;
  await signInStaff(page, firm.admin);
  await page.getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { name: "Requests" })).toBeVisible();
  await page.getByRole("link", { name: "New request" }).click();
  await page.getByLabel("Contact").selectOption({ label: `${chloe.name} (${chloe.email})` });
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Description").fill("Everything we need to close your year.");
  await page.getByLabel("Urgent", { exact: false }).check();
  await page.getByLabel("Item 1 kind").selectOption("question");
  await page.getByLabel("Item 1", { exact: true }).fill("What is your new address?");
  await page.getByLabel("Item 2 kind").selectOption("file");
  await page.getByLabel("Item 2", { exact: true }).fill("Upload your P60");
  await page.getByLabel("Item 3 kind").selectOption("task");
  await page.getByLabel("Item 3", { exact: true }).fill("Sign the engagement letter");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("heading", { name: title })).toBeVisible();
  await expect(page.getByRole("status")).toContainText(`Request sent to ${chloe.email}`);
  const staffUrl = page.url().replace(/\?.*$/, "");

  const link = await latestLink(page, chloe.email, title);
  expect(link).toMatch(/\/l\/[A-Za-z0-9_-]{43}$/);

  const client = await browser.newContext();
  const portal = await client.newPage();
  await portal.goto(link);
  await portal.getByRole("button", { name: "Continue" }).click();
  await expect(portal.getByRole("heading", { name: title })).toBeVisible();

  await portal.getByLabel("What is your new address?").fill("12 Harbour Road, Portsmouth");
  await portal.getByRole("button", { name: "Save" }).click();
  await expect(portal.getByText("Answer saved.")).toBeVisible();

  await portal.getByLabel("Upload your P60").setInputFiles({
    name: "p60-2026.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4\n% a tiny test P60\n"),
  });
  // With JavaScript the page streams the raw file to the item's upload endpoint.
  const streamed = portal.waitForRequest((r) => r.method() === "POST" && /\/items\/[^/]+\/upload$/.test(r.url()));
  await portal.getByRole("button", { name: "Upload", exact: true }).click();
  await streamed;
  await expect(portal.getByText("Uploaded p60-2026.pdf.")).toBeVisible();
  await expect(portal.getByRole("link", { name: "p60-2026.pdf" })).toBeVisible();

  await portal.getByRole("button", { name: "Mark as done" }).click();
  await expect(portal.getByText("every item is done")).toBeVisible();
  await expect(portal.getByText("This request is complete. Thank you.")).toBeVisible();
  await client.close();

  await page.goto(staffUrl);
  await expect(page.getByText("Completed", { exact: true })).toBeVisible();
  await expect(page.getByText("3 of 3 done")).toBeVisible();
  await expect(page.getByText("12 Harbour Road, Portsmouth")).toBeVisible();
  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "p60-2026.pdf" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("p60-2026.pdf");
  expect(readFileSync((await download.path())!, "utf8")).toContain("a tiny test P60");

  // The staff member who sent it was told.
  await latestLink(page, firm.admin.email, `Request completed: ${title}`);
});
