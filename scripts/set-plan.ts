// Operator command: change a firm's plan. Plans change here, never in the firm's UI.
//   npm run firm:plan -- <firm-slug> <team|business|enterprise> [--remote] [--env production]
// A firm that uses the 2FA mode and moves to `team` keeps 2FA (fail secure); its admins see a notice.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { root } from "./local";
import { parsePlanArgs, planChangeSql } from "./plan-change";
import { modeKeptAfterDowngrade } from "../app/server/portal/portal-policy.server";
import type { Plan, SecurityMode } from "../db/schema";

const parsed = parsePlanArgs(process.argv.slice(2));
if (!parsed.ok) {
  console.error("Usage: npm run firm:plan -- <firm-slug> <team|business|enterprise> [--remote] [--env <name>]");
  console.error(parsed.errors.join("\n"));
  process.exit(2);
}
const { slug, plan, remote, envName } = parsed.change;
// wrangler d1 execute cannot bind parameters: the inputs are validated above and quoted by planChangeSql.
const sql = planChangeSql({ slug, plan }, crypto.randomUUID(), Date.now()).join("\n");
const wrangler = join(root, "node_modules/.bin/wrangler");
const target = remote ? ["--remote"] : ["--local", "--persist-to", join(root, ".wrangler/state")];
const output = execFileSync(
  wrangler,
  ["d1", "execute", "DB", ...target, ...(envName ? ["--env", envName] : []), "--command", sql, "--json", "--yes"],
  { cwd: root, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);
const results = JSON.parse(output) as Array<{ results: Array<{ slug: string; plan: string; security_mode: string }> }>;
const firm = results.at(-1)?.results[0];
if (!firm) {
  console.error(`No firm with slug "${slug}".`);
  process.exit(1);
}
console.log(`${firm.slug}: plan ${firm.plan}, portal security mode ${firm.security_mode}`);
// Which modes a plan keeps is the portal policy's question, not this script's.
if (modeKeptAfterDowngrade({ plan: firm.plan as Plan, securityMode: firm.security_mode as SecurityMode })) {
  console.log("Note: 2FA stays enforced for this firm's clients (fail secure) until an admin switches to another mode.");
}
