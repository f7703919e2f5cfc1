// Operator command: change a firm's plan. Plans change here, never in the firm's UI.
//   npm run firm:plan -- <firm-slug> <team|business|enterprise> [--remote] [--env production]
// A firm that uses the 2FA mode and moves to `team` keeps 2FA (fail secure); its admins see a notice.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { z } from "zod";
import { PLANS } from "../app/lib/domain";
import { root } from "./local";

const args = process.argv.slice(2);
const remote = args.includes("--remote");
const envIndex = args.indexOf("--env");
const envName = envIndex >= 0 ? args[envIndex + 1] : undefined;
const positional = args.filter((a, i) => !a.startsWith("--") && (envIndex < 0 || i !== envIndex + 1));
const parsed = z
  .tuple([z.string().regex(/^[a-z0-9-]{1,64}$/, "firm slug: lowercase letters, digits and dashes"), z.enum(PLANS)])
  .safeParse(positional);
if (!parsed.success) {
  console.error("Usage: npm run firm:plan -- <firm-slug> <team|business|enterprise> [--remote] [--env <name>]");
  console.error(parsed.error.issues.map((i) => i.message).join("\n"));
  process.exit(2);
}
const [slug, plan] = parsed.data;
const now = Date.now();
const sql = [
  `UPDATE firms SET plan = '${plan}' WHERE slug = '${slug}';`,
  `INSERT INTO audit_events (id, firm_id, at, type, actor_type, actor_label, detail)
     SELECT '${crypto.randomUUID()}', id, ${now}, 'firm.plan_changed', 'system', 'Operator', json_object('plan', '${plan}')
     FROM firms WHERE slug = '${slug}';`,
  `SELECT slug, plan, security_mode FROM firms WHERE slug = '${slug}';`,
].join("\n");
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
if (firm.plan === "team" && firm.security_mode === "magic_link_and_login_2fa") {
  console.log("Note: 2FA stays enforced for this firm's clients (fail secure) until an admin switches to another mode.");
}
