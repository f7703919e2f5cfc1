// The `test` every browser spec imports. On top of Playwright's own:
// - it watches every page a test opens (the default context and any context the test makes with
//   browser.newContext or newPage) and fails the test if Chromium reported a Content Security Policy
//   violation (SECURITY.md rule 29: a CSP that blocks a script of the app's own is a broken page, and
//   one that is loosened to let it through is a weaker CSP), or if a page logged a console error or
//   threw an uncaught error (a hydration mismatch, a failed fetch, a bug in a component);
// - `firm` is the test's own firm, made fresh for it (test/e2e/firms.ts), and `makeFirm` makes more.
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { E2E_FIXTURE_TOKEN_FILE } from "../../scripts/e2e-state";
import { FIXTURE_PATH, type E2EFirm, type FirmOptions } from "./firms";

export { expect };
export type { Browser, BrowserContext, Page, E2EFirm };

export type CspViolation = { page: string; channel: "event" | "console"; directive: string; blocked: string; source: string; sample: string };

type ReportedViolation = Omit<CspViolation, "page" | "channel">;

export type PageError = { page: string; kind: "console.error" | "pageerror"; text: string; source: string };

/** What the watch collects for one test. */
type Watched = { csp: CspViolation[]; errors: PageError[] };

const BINDING = "__reportCspViolation";

declare global {
  interface Window {
    [BINDING]?: (violation: ReportedViolation) => Promise<void>;
  }
}

const watchedContexts = new WeakSet<BrowserContext>();

/**
 * Chromium logs every 4xx/5xx response as a console error, including the answers the app gives on
 * purpose and the tests assert on the page: 401 for a wrong password, 404 for an unknown link, 410 for
 * an expired one, 429 when throttled. Those are not page errors when they come from the app's own routes
 * (documents and Remix data requests). Still errors: any 5xx, a 4xx for a static file (`/assets/`,
 * the favicon: a broken page), anything from another origin, and every other console error.
 */
function isDeliberateAnswer(page: Page, text: string, url: string): boolean {
  if (!/^Failed to load resource: the server responded with a status of 4\d\d\b/.test(text)) return false;
  let resource: URL;
  let current: URL;
  try {
    resource = new URL(url);
    current = new URL(page.url());
  } catch {
    return false;
  }
  return resource.origin === current.origin && !resource.pathname.startsWith("/assets/") && !resource.pathname.startsWith("/favicon");
}

/**
 * Records, for every page of the context, each `securitypolicyviolation` event and CSP console error,
 * every other console error and every uncaught exception.
 */
async function watch(context: BrowserContext, watched: Watched): Promise<void> {
  if (watchedContexts.has(context)) return;
  watchedContexts.add(context);
  const violations = watched.csp;
  await context.exposeBinding(BINDING, ({ page }, violation: ReportedViolation) => {
    violations.push({ page: page.url(), channel: "event", ...violation });
  });
  // Runs in every document before the page's own scripts, so nothing the page does escapes it.
  await context.addInitScript((binding: string) => {
    document.addEventListener(
      "securitypolicyviolation",
      (event) => {
        const report = (window as unknown as Record<string, (v: ReportedViolation) => Promise<void>>)[binding];
        void report?.({
          directive: event.effectiveDirective || event.violatedDirective,
          blocked: event.blockedURI,
          source: `${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`,
          sample: event.sample,
        });
      },
      true,
    );
  }, BINDING);
  // Chromium also logs each violation to the console; this catches ones the event cannot report
  // (a page with JavaScript turned off runs no listener).
  const onPage = (page: Page) => {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const location = message.location();
      if (/Content Security Policy/i.test(message.text())) {
        violations.push({ page: page.url(), channel: "console", directive: "", blocked: "", source: location.url, sample: message.text() });
      } else if (!isDeliberateAnswer(page, message.text(), location.url)) {
        watched.errors.push({ page: page.url(), kind: "console.error", text: message.text(), source: `${location.url}:${location.lineNumber}` });
      }
    });
    page.on("pageerror", (error) => {
      watched.errors.push({ page: page.url(), kind: "pageerror", text: `${error.name}: ${error.message}`, source: error.stack?.split("\n")[1]?.trim() ?? "" });
    });
  };
  for (const page of context.pages()) onPage(page);
  context.on("page", onPage);
}

/** Lets every open page deliver the reports it has queued before the pages are closed. */
async function flush(context: BrowserContext): Promise<void> {
  for (const page of context.pages()) {
    if (page.isClosed()) continue;
    await page.evaluate(() => new Promise<void>((resolve) => setTimeout(resolve, 0))).catch(() => undefined);
  }
}

export const test = base.extend<
  { watched: Watched; cspViolations: CspViolation[]; pageErrors: PageError[]; makeFirm: (options?: FirmOptions) => Promise<E2EFirm>; firm: E2EFirm }
>({
  watched: [
    async ({ browser }, provide) => {
      const watched: Watched = { csp: [], errors: [] };
      const made: BrowserContext[] = [];
      // Contexts a test makes itself (second browsers, JavaScript off) are watched too. browser.newPage
      // goes through newContext as well.
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<Browser["newContext"]>) => {
        const context = await newContext.apply(browser, args);
        await watch(context, watched);
        made.push(context);
        return context;
      };
      try {
        await provide(watched);
      } finally {
        delete (browser as Partial<Browser>).newContext;
      }
      for (const context of made) await flush(context);
      expect(watched.csp, "Content Security Policy violations reported by Chromium").toEqual([]);
      expect(watched.errors, "console errors and uncaught exceptions in the pages").toEqual([]);
    },
    { auto: true },
  ],
  /** The CSP violations seen so far; a test that causes one on purpose checks it, then empties the list. */
  cspViolations: async ({ watched }, provide) => provide(watched.csp),
  /** The console errors seen so far, on the same terms. */
  pageErrors: async ({ watched }, provide) => provide(watched.errors),
  context: async ({ context, watched }, provide) => {
    await watch(context, watched);
    await provide(context);
    await flush(context);
  },
  /** Asks the e2e server for a new firm (test/e2e/worker.ts writes it). */
  makeFirm: async ({ playwright, baseURL }, provide) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = readFileSync(E2E_FIXTURE_TOKEN_FILE, "utf8");
    await provide(async (options = {}) => {
      const response = await api.post(FIXTURE_PATH, { data: options, headers: { authorization: `Bearer ${token}` } });
      expect(response.status(), await response.text()).toBe(200);
      return (await response.json()) as E2EFirm;
    });
    await api.dispose();
  },
  firm: async ({ makeFirm }, provide) => provide(await makeFirm()),
});
