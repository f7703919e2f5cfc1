// Operator command: re-encrypt everything under the current TOTP_ENCRYPTION_KEY after a key rotation, and
// report which key ids the stored values still use (docs/deploy.md "Rotating the encryption keys", ADR 017).
//   npm run keys:reencrypt -- [--remote] [--env <name>] [--secrets-file <path>] [--batch <n>] [--dry-run]
// The keys are read from a file in .dev.vars format (default .dev.vars, for the local database; for
// --remote the file with the production keys, the same values given to `wrangler secret put`). They are
// never printed. Safe to run again at any time: values already under the current key are left alone.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { checkCurrentKey, keyUsage, reencryptAll, type KeyUsage, type SqlRunner } from "../app/server/key-rotation.server";
import { parseKeyring, RECOVERY_KEY_NAMES, TOTP_KEY_NAMES } from "../app/server/keyring.server";
import { d1Execute } from "./d1-execute";
import { root } from "./local";

const USAGE = "Usage: npm run keys:reencrypt -- [--remote] [--env <name>] [--secrets-file <path>] [--batch <1-500>] [--dry-run]";

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const args = process.argv.slice(2);
let remote = false;
let dryRun = false;
let envName: string | undefined;
let secretsFile: string | undefined;
let batch = 50;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--remote") remote = true;
  else if (arg === "--dry-run") dryRun = true;
  else if (arg === "--env") envName = z.string().regex(/^[a-z0-9_-]{1,64}$/).safeParse(args[++i]).data ?? fail(`--env: lowercase letters, digits, dashes and underscores\n${USAGE}`);
  else if (arg === "--secrets-file") secretsFile = args[++i] ?? fail(USAGE);
  else if (arg === "--batch") batch = z.coerce.number().int().min(1).max(500).safeParse(args[++i]).data ?? fail(`--batch: a whole number from 1 to 500\n${USAGE}`);
  else fail(`unknown argument ${arg}\n${USAGE}`);
}
if (remote && !secretsFile) fail(`--remote needs --secrets-file <path>: a file with the production keys (TOTP_ENCRYPTION_KEY="…", …)\n${USAGE}`);
const file = resolve(root, secretsFile ?? join(root, ".dev.vars"));
if (!existsSync(file)) fail(`No secrets file at ${file}`);

const vars: Record<string, string> = {};
for (const line of readFileSync(file, "utf8").split("\n")) {
  const match = /^\s*([A-Z_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
  if (match) vars[match[1]] = match[2];
}
const totp = parseKeyring(TOTP_KEY_NAMES, vars.TOTP_ENCRYPTION_KEY, vars.TOTP_ENCRYPTION_KEYS_RETIRED);
const recovery = parseKeyring(RECOVERY_KEY_NAMES, vars.RECOVERY_CODE_KEY, vars.RECOVERY_CODE_KEYS_RETIRED);
const problems = [...(totp.ok ? [] : totp.problems), ...(recovery.ok ? [] : recovery.problems)];
if (!totp.ok || !recovery.ok) fail(`The secrets file ${file} has problems:\n- ${problems.join("\n- ")}`);
const keys = { TOTP_ENCRYPTION_KEY: vars.TOTP_ENCRYPTION_KEY, TOTP_ENCRYPTION_KEYS_RETIRED: vars.TOTP_ENCRYPTION_KEYS_RETIRED };
const currentTotp = totp.keyring.current.id;
const currentRecovery = recovery.keyring.current.id;

const target = { remote, envName };
const run: SqlRunner = async (statements) => d1Execute(target, statements);
const where = remote ? `remote D1${envName ? ` (--env ${envName})` : ""}` : "local D1 (.wrangler/state)";

function printUsage(title: string, usage: KeyUsage): void {
  console.log(title);
  const encrypted = Object.entries(usage.encrypted);
  console.log(`  TOTP_ENCRYPTION_KEY (current ${currentTotp}): ${encrypted.length ? encrypted.map(([id, n]) => `${id}: ${n}`).join(", ") : "nothing stored"}`);
  const codes = Object.entries(usage.recoveryCodes);
  console.log(
    `  RECOVERY_CODE_KEY (current ${currentRecovery}): ${codes.length ? codes.map(([id, u]) => `${id}: ${u.codes} unused codes of ${u.accounts} accounts`).join(", ") : "no unused codes"}`,
  );
}

console.log(`Key rotation on ${where}, keys from ${file}`);
printUsage("Before:", await keyUsage(run));

const check = await checkCurrentKey(run, keys);
if (check.failed > 0) {
  fail(
    `Stopped: ${check.failed} of ${check.checked} stored values under ${currentTotp} do not open with this file's ${currentTotp}. ` +
      "These are not the keys the worker uses; re-encrypting with them would lock people out. Nothing was changed.",
  );
}
if (check.checked === 0) console.log(`(No stored value is under ${currentTotp} yet, so the file's key could not be compared with the worker's.)`);

if (dryRun) {
  console.log("Dry run: nothing re-encrypted.");
} else {
  const counts = await reencryptAll(run, keys, batch, (c) => process.stdout.write(`\r  ${c.label}: ${c.reencrypted} re-encrypted`));
  process.stdout.write("\n");
  for (const c of counts) {
    console.log(`  ${c.label}: ${c.reencrypted} re-encrypted to ${currentTotp}, ${c.unreadable} could not be opened, ${c.changedMeanwhile} changed meanwhile (left as the app wrote them)`);
  }
  printUsage("After:", await keyUsage(run));
}

// What the operator may remove now, and what must stay.
const after = await keyUsage(run);
for (const id of totp.keyring.byId.keys()) {
  if (id === currentTotp) continue;
  const n = after.encrypted[id] ?? 0;
  console.log(n === 0 ? `TOTP_ENCRYPTION_KEYS_RETIRED: ${id} is no longer used; remove it (keep it 30 more minutes if setup pages were open).` : `TOTP_ENCRYPTION_KEYS_RETIRED: ${id} still protects ${n} values; keep it.`);
}
for (const id of recovery.keyring.byId.keys()) {
  if (id === currentRecovery) continue;
  const u = after.recoveryCodes[id];
  console.log(u ? `RECOVERY_CODE_KEYS_RETIRED: ${id} still checks ${u.codes} unused codes of ${u.accounts} accounts; keep it until they are used or replaced.` : `RECOVERY_CODE_KEYS_RETIRED: ${id} is no longer used; remove it.`);
}
for (const [id, n] of Object.entries(after.encrypted)) if (!totp.keyring.byId.has(id)) console.log(`Warning: ${n} values are under ${id}, which this file does not have: they cannot be opened.`);
for (const [id, u] of Object.entries(after.recoveryCodes)) if (!recovery.keyring.byId.has(id)) console.log(`Warning: ${u.codes} unused recovery codes are under ${id}, which this file does not have: they cannot be used.`);
