// `npm run test:e2e`: browser tests in Debian's Chromium against the built worker in workerd.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { chromiumPath } from "./chromium";
import { root } from "./local";

if (!chromiumPath()) {
  console.error("No Chromium found: install it with `sudo apt-get install -y chromium` or set CHROMIUM_PATH to a Chromium binary.");
  process.exit(1);
}
try {
  execFileSync(join(root, "node_modules/.bin/playwright"), ["test", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
} catch {
  process.exit(1);
}
