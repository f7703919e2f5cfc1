// The fixtures can fail and cannot be misused: each kind of page error the watch promises to catch is
// caught, and the route that makes firms answers only the test process.
// Every test here causes one on purpose, checks it was seen, then empties the list so the fixture's own
// check (which fails the test on any) passes.
import { expect, test } from "./fixtures";

test("a console.error from the page's code is reported", async ({ page, pageErrors }) => {
  await page.goto("/login");
  await page.evaluate(() => console.error("something broke"));
  await expect.poll(() => pageErrors.map((e) => `${e.kind} ${e.text}`)).toContain("console.error something broke");
  pageErrors.length = 0;
});

test("an uncaught exception is reported", async ({ page, pageErrors }) => {
  await page.goto("/login");
  await page.evaluate(() => {
    setTimeout(() => {
      throw new Error("uncaught in a timer");
    }, 0);
  });
  await expect.poll(() => pageErrors.map((e) => `${e.kind} ${e.text}`)).toContain("pageerror Error: uncaught in a timer");
  pageErrors.length = 0;
});

test("a missing static file is reported, while the app's deliberate 404 page is not", async ({ page, pageErrors }) => {
  await page.goto("/no-such-page");
  await expect(page.getByRole("heading").first()).toBeVisible();
  expect(pageErrors).toEqual([]);
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.src = "/assets/no-such-file.js";
    document.head.appendChild(script);
  });
  await expect.poll(() => pageErrors.map((e) => e.text).join("\n")).toMatch(/status of 404/);
  pageErrors.length = 0;
});

test("the firm fixture's route answers nothing without this server's token", async ({ request }) => {
  for (const headers of [{}, { authorization: "Bearer " }, { authorization: "Bearer wrong-token" }] as Array<Record<string, string>>) {
    const response = await request.post("/__e2e/firms", { data: {}, headers });
    expect(response.status()).toBe(404);
  }
  expect((await request.get("/__e2e/firms")).status()).toBe(404);
});
