// Operator command: bring a new firm in (there is no sign-up for firms). Creates the firm and its first
// admin in one D1 batch and prints, once, the link where the admin chooses a password (ADR 017): no
// password passes through this terminal, and D1 holds only the SHA-256 of the link's secret.
//   npm run firm:create -- --name "Acme & Co" --slug acme --admin-email a@acme.example
//                          [--admin-name "Ada Admin"] [--plan business] [--app-url https://portal.example.com]
//                          [--remote] [--env <name>]
//   npm run firm:create -- --reissue --slug acme --admin-email a@acme.example [--remote]   (a new link, if unused)
// The link starts with --app-url, else APP_URL from wrangler.toml [vars], else the local dev server.
import { z } from "zod";
import { unstable_readConfig } from "wrangler";
import { join } from "node:path";
import {
  createFirmSql,
  firmConflictsSql,
  newFirmIds,
  newFirmSchema,
  newSetupLink,
  reissueSetupSql,
  setupLinkUrl,
  SETUP_LINK_VALIDITY_MS,
} from "../app/server/staff/staff-setup.server";
import { d1Execute } from "./d1-execute";
import { root } from "./local";

const USAGE = `Usage: npm run firm:create -- --name "Acme & Co" --slug acme --admin-email a@acme.example [--admin-name "…"] [--plan team|business|enterprise] [--app-url https://…] [--remote] [--env <name>]
       npm run firm:create -- --reissue --slug acme --admin-email a@acme.example [--remote] [--env <name>]`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const options: Record<string, string> = {};
const flags = new Set<string>();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--remote" || arg === "--reissue") flags.add(arg);
  else if (["--name", "--slug", "--admin-email", "--admin-name", "--plan", "--env", "--app-url"].includes(arg)) {
    const value = args[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    options[arg] = value;
  } else fail(`unknown argument ${arg}`);
}
const envName = options["--env"] === undefined ? undefined : (z.string().regex(/^[a-z0-9_-]{1,64}$/).safeParse(options["--env"]).data ?? fail("--env: lowercase letters, digits, dashes and underscores"));
const target = { remote: flags.has("--remote"), envName };
const reissue = flags.has("--reissue");

const parsed = newFirmSchema.safeParse({
  name: reissue ? "(reissue)" : options["--name"],
  slug: options["--slug"],
  adminEmail: options["--admin-email"] ?? "",
  adminName: options["--admin-name"],
  plan: options["--plan"],
});
if (!parsed.success) fail(parsed.error.issues.map((issue) => (issue.path[0] === "adminEmail" ? `--admin-email: ${issue.message}` : issue.message)).join("\n"));
const firm = parsed.data;

process.env.WRANGLER_SEND_METRICS = "false";
const configuredUrl = (unstable_readConfig({ config: join(root, "wrangler.toml"), env: envName }).vars as Record<string, unknown>).APP_URL;
const appUrl = options["--app-url"] ?? (typeof configuredUrl === "string" ? configuredUrl : target.remote ? fail("Set APP_URL in wrangler.toml [vars] or pass --app-url") : "http://127.0.0.1:8787");
if (!z.string().url().safeParse(appUrl).success) fail("--app-url: a URL such as https://portal.example.com");

const now = Date.now();
const link = await newSetupLink(now);
let staffId: string;
if (reissue) {
  const [rows] = d1Execute(target, [reissueSetupSql(firm.slug, firm.adminEmail, link.marker)]);
  if (rows.length !== 1) {
    console.error(`No admin ${firm.adminEmail} of firm "${firm.slug}" is waiting to choose a password (unknown, or the password is already set).`);
    process.exit(1);
  }
  staffId = String(rows[0].id);
  console.log(`New set-password link for ${firm.adminEmail} (the previous one no longer works).`);
} else {
  const [[conflicts]] = d1Execute(target, [firmConflictsSql(firm)]);
  const problems = [
    ...(Number(conflicts?.slug_taken) ? [`--slug: a firm with slug "${firm.slug}" already exists`] : []),
    ...(Number(conflicts?.email_taken) ? [`--admin-email: ${firm.adminEmail} already has a staff account`] : []),
  ];
  if (problems.length) fail(problems.join("\n"));
  const ids = newFirmIds();
  d1Execute(target, createFirmSql(firm, ids, link.marker, now));
  staffId = ids.staffId;
  console.log(`Created firm "${firm.name}" (slug ${firm.slug}, plan ${firm.plan}) with admin ${firm.adminEmail}.`);
  console.log(`Portal: ${appUrl.replace(/\/$/, "")}/portal/${firm.slug}   Staff sign-in: ${appUrl.replace(/\/$/, "")}/login`);
}
const days = SETUP_LINK_VALIDITY_MS / 86_400_000;
console.log(`\nGive this link to ${firm.adminEmail} over a channel you trust. It is shown only now, works once, for ${days} days:\n`);
console.log(`  ${setupLinkUrl(appUrl, staffId, link.secret)}\n`);
console.log(`If it expires unused: npm run firm:create -- --reissue --slug ${firm.slug} --admin-email ${firm.adminEmail}${target.remote ? " --remote" : ""}`);
