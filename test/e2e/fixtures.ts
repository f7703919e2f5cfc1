// The `test` every browser spec imports. On top of Playwright's own, it watches every page a test
// opens (the default context and any context the test makes with browser.newContext or newPage) for
// Content Security Policy violations, and fails the test if Chromium reported one (SECURITY.md rule
// 29: a CSP that blocks a script of the app's own is a broken page, and one that is loosened to let it
// through is a weaker CSP).
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

export { expect };
export type { Browser, BrowserContext, Page };

export type CspViolation = { page: string; channel: "event" | "console"; directive: string; blocked: string; source: string; sample: string };

type ReportedViolation = Omit<CspViolation, "page" | "channel">;

const BINDING = "__reportCspViolation";

declare global {
  interface Window {
    [BINDING]?: (violation: ReportedViolation) => Promise<void>;
  }
}

const watchedContexts = new WeakMap<BrowserContext, CspViolation[]>();

/** Records, for every page of the context, each `securitypolicyviolation` event and CSP console error. */
async function watch(context: BrowserContext, violations: CspViolation[]): Promise<void> {
  if (watchedContexts.has(context)) return;
  watchedContexts.set(context, violations);
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
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
        violations.push({ page: page.url(), channel: "console", directive: "", blocked: "", source: message.location().url, sample: message.text() });
      }
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

export const test = base.extend<{ cspViolations: CspViolation[] }>({
  cspViolations: [
    async ({ browser }, provide) => {
      const violations: CspViolation[] = [];
      const made: BrowserContext[] = [];
      // Contexts a test makes itself (second browsers, JavaScript off) are watched too. browser.newPage
      // goes through newContext as well.
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<Browser["newContext"]>) => {
        const context = await newContext.apply(browser, args);
        await watch(context, violations);
        made.push(context);
        return context;
      };
      try {
        await provide(violations);
      } finally {
        delete (browser as Partial<Browser>).newContext;
      }
      for (const context of made) await flush(context);
      expect(violations, "Content Security Policy violations reported by Chromium").toEqual([]);
    },
    { auto: true },
  ],
  context: async ({ context, cspViolations }, provide) => {
    await watch(context, cspViolations);
    await provide(context);
    await flush(context);
  },
});
