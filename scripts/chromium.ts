import { existsSync } from "node:fs";

/** Debian's Chromium, or CHROMIUM_PATH. Playwright's own browser download is never used. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean) as string[];
  return candidates.find((path) => existsSync(path)) ?? null;
}
