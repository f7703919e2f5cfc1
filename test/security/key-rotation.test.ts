// Rotating TOTP_ENCRYPTION_KEY and RECOVERY_CODE_KEY (docs/decisions/017): values carry the id of the key
// that made them, retired keys stay readable, `reencryptAll` moves everything re-encryptable to the current
// key, and a value whose key is gone is an unusable credential (a refused code, a log line), never a 500.
import { env } from "cloudflare:workers";
import { encodeBase64 } from "@oslojs/encoding";
import { eq, inArray } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { outbox, portalAccounts, recoveryCodes, staffUsers } from "../../db/schema";
import { generateRecoveryCodes, replaceRecoveryCodes } from "~/server/auth/recovery-codes.server";
import { beginEnrolment, confirmEnrolment, verifyRecoveryAttempt, verifyTotpAttempt } from "~/server/auth/second-factor.server";
import { decryptTotpSecret, encryptTotpSecret, generateTotpSecret } from "~/server/auth/totp.server";
import { runBatch } from "~/server/db.server";
import { passwordResetEmail } from "~/server/emails.server";
import { checkCurrentKey, keyUsage, reencryptAll, type SqlRunner } from "~/server/key-rotation.server";
import { parseKeyring, TOTP_KEY_NAMES } from "~/server/keyring.server";
import { renderOutboxMessage } from "~/server/outbox-render.server";
import { queueEmail, sealEmail } from "~/server/outbox.server";
import { settingsProblems } from "~/server/settings.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid } from "../support/factories";
import { Browser } from "../support/http";
import { codeNow, portalOwner, staffOwner, wrongCode } from "../support/two-factor";

const newKey = () => encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
const A = newKey();
const B = newKey();
const RA = newKey();
const RB = newKey();

/** Before key ids: bare values, as every deployment and .dev.vars had them (key id k0). */
const BEFORE = { TOTP_ENCRYPTION_KEY: A, RECOVERY_CODE_KEY: RA };
/** Rotated: new keys k1, the old ones retired under their id k0. */
const DURING = {
  TOTP_ENCRYPTION_KEY: `k1:${B}`,
  TOTP_ENCRYPTION_KEYS_RETIRED: `k0:${A}`,
  RECOVERY_CODE_KEY: `k1:${RB}`,
  RECOVERY_CODE_KEYS_RETIRED: `k0:${RA}`,
};
/** After re-encryption: the old TOTP key removed; the old recovery key kept while its codes are unused. */
const AFTER = { TOTP_ENCRYPTION_KEY: `k1:${B}`, RECOVERY_CODE_KEY: `k1:${RB}`, RECOVERY_CODE_KEYS_RETIRED: `k0:${RA}` };

/** The worker's own D1, as the script's `wrangler d1 execute` gives it: SQL text in, rows out. */
const run: SqlRunner = async (statements) => (await env.DB.batch(statements.map((s) => env.DB.prepare(s)))).map((r) => r.results as Record<string, unknown>[]);

afterEach(() => vi.restoreAllMocks());

/** A TOTP secret saved the way enrolment saves it, under the given keys; returns the plain secret. */
async function saveSecret(keys: typeof BEFORE | typeof DURING, owner: ReturnType<typeof staffOwner>, legacyFormat = false) {
  const secret = generateTotpSecret();
  let stored = await encryptTotpSecret(keys, owner.firmId, owner.id, secret);
  // Rows written before key ids have no prefix at all.
  if (legacyFormat) stored = stored.replace(/^k0:/, "");
  const values = { totpSecret: stored, totpEnabledAt: Date.now() };
  if (owner.kind === "staff") await db.update(staffUsers).set(values).where(eq(staffUsers.id, owner.id));
  else await db.update(portalAccounts).set(values).where(eq(portalAccounts.id, owner.id));
  return secret;
}

async function storedSecret(owner: ReturnType<typeof staffOwner>): Promise<string> {
  const table = owner.kind === "staff" ? staffUsers : portalAccounts;
  const [row] = await db.select({ s: table.totpSecret }).from(table).where(eq(table.id, owner.id));
  return row.s!;
}

async function queueLink(keys: typeof BEFORE | typeof DURING) {
  const to = `${uid("rot_")}@client.test`;
  const url = `http://portal.test/portal/x/forgot-password?token=${uid("tok")}`;
  await queueEmail(db, await sealEmail(keys, passwordResetEmail({ firm: { id: "firm_rot", name: "Rot" }, contact: { name: "A", email: to }, url })));
  const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
  return { row, url };
}

describe("key rotation: old values stay readable, new ones use the current key, re-encryption moves them", () => {
  it("write under A, rotate to B with A retired, re-encrypt, remove A: everything keeps working", async () => {
    const firm = await createFirm();
    const staff = staffOwner(await createStaff(firm));
    const legacyStaff = staffOwner(await createStaff(firm));
    const account = await createPortalAccount(firm, await createContact(firm));
    const client = portalOwner(account);

    // Written before the rotation: key A, without ids in the settings.
    const staffSecret = await saveSecret(BEFORE, staff);
    const legacySecret = await saveSecret(BEFORE, legacyStaff, true);
    const clientSecret = await saveSecret(BEFORE, client);
    const oldCodes = generateRecoveryCodes();
    await runBatch(db, await replaceRecoveryCodes(db, BEFORE, account.id, oldCodes));
    const oldLink = await queueLink(BEFORE);
    expect(await storedSecret(staff)).toMatch(/^k0:/);
    expect(await storedSecret(legacyStaff)).not.toContain(":");
    expect(oldLink.row.sealedSecret).toMatch(/^k0:/);
    const [oldHash] = await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id)).limit(1);
    expect(oldHash.codeHash).toMatch(/^k0:[0-9a-f]{64}$/);

    // Rotated: old values still work, new ones are made with k1.
    expect(await verifyTotpAttempt(db, DURING, staff, codeNow(staffSecret))).toMatchObject({ ok: true });
    expect(await verifyTotpAttempt(db, DURING, legacyStaff, codeNow(legacySecret))).toMatchObject({ ok: true });
    expect(await verifyRecoveryAttempt(db, DURING, client, oldCodes[0])).toEqual({ ok: true });
    expect((await renderOutboxMessage(DURING, oldLink.row)).text).toContain(oldLink.url);
    const newLink = await queueLink(DURING);
    expect(newLink.row.sealedSecret).toMatch(/^k1:/);
    const newStaff = staffOwner(await createStaff(firm));
    const enrolment = await beginEnrolment(DURING, newStaff, { issuer: "Test", accountName: "n@b.test" });
    expect(enrolment.pendingToken).toMatch(/^k1:/);
    const newSecret = base32(enrolment.manualKey);
    expect(await confirmEnrolment(db, DURING, newStaff, enrolment.pendingToken, codeNow(newSecret))).toMatchObject({ ok: true });
    expect(await storedSecret(newStaff)).toMatch(/^k1:/);

    // Re-encryption moves every TOTP secret and sealed link to k1, and a second run has nothing to do.
    expect(await checkCurrentKey(run, DURING)).toMatchObject({ failed: 0 });
    const counts = await reencryptAll(run, DURING, 2);
    const total = (label: string) => counts.find((c) => c.label === label)!;
    expect(total("staff TOTP secrets").reencrypted).toBeGreaterThanOrEqual(2);
    expect(total("client TOTP secrets").reencrypted).toBeGreaterThanOrEqual(1);
    expect(total("sealed links of queued emails").reencrypted).toBeGreaterThanOrEqual(1);
    for (const owner of [staff, legacyStaff, client, newStaff]) expect(await storedSecret(owner)).toMatch(/^k1:/);
    const [moved] = await db.select().from(outbox).where(eq(outbox.id, oldLink.row.id));
    expect(moved.sealedSecret).toMatch(/^k1:/);
    expect((await reencryptAll(run, DURING)).every((c) => c.reencrypted === 0)).toBe(true);
    const usage = await keyUsage(run);
    expect(usage.encrypted.k1).toBeGreaterThanOrEqual(6);
    expect(usage.recoveryCodes.k0.codes).toBeGreaterThanOrEqual(9);

    // A removed: TOTP secrets and links open with k1 alone; the recovery codes made under k0 still work
    // because their key stays retired; codes made after the rotation use k1.
    expect(await decryptTotpSecret(AFTER, client.firmId, client.id, await storedSecret(client))).toEqual(clientSecret);
    expect(await verifyTotpAttempt(db, AFTER, staff, codeNow(staffSecret, 1))).toMatchObject({ ok: true });
    expect(await verifyTotpAttempt(db, AFTER, legacyStaff, codeNow(legacySecret, 1))).toMatchObject({ ok: true });
    expect(await verifyTotpAttempt(db, AFTER, newStaff, codeNow(newSecret, 1))).toMatchObject({ ok: true });
    expect((await renderOutboxMessage(AFTER, moved)).text).toContain(oldLink.url);
    expect(await verifyRecoveryAttempt(db, AFTER, client, oldCodes[1])).toEqual({ ok: true });
    const newCodes = generateRecoveryCodes();
    await runBatch(db, await replaceRecoveryCodes(db, AFTER, account.id, newCodes));
    const hashes = await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id));
    expect(hashes.every((h) => h.codeHash.startsWith("k1:"))).toBe(true);
    expect(await verifyRecoveryAttempt(db, { RECOVERY_CODE_KEY: `k1:${RB}` }, client, newCodes[0])).toEqual({ ok: true });
  });

  it("values under a key id that is not configured are refused and logged, never thrown", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const firm = await createFirm();
    const staff = staffOwner(await createStaff(firm));
    const account = await createPortalAccount(firm, await createContact(firm));
    const client = portalOwner(account);
    const secret = await saveSecret(BEFORE, staff);
    await saveSecret(BEFORE, client);
    const codes = generateRecoveryCodes();
    await runBatch(db, await replaceRecoveryCodes(db, BEFORE, account.id, codes));
    const link = await queueLink(BEFORE);

    // k0 removed too early: nothing opens, the attempt counts as a wrong code, the log names the key id.
    const withoutA = { TOTP_ENCRYPTION_KEY: `k1:${B}`, RECOVERY_CODE_KEY: `k1:${RB}` };
    expect(await verifyTotpAttempt(db, withoutA, staff, codeNow(secret))).toMatchObject({ ok: false, reason: "invalid" });
    expect(await verifyRecoveryAttempt(db, withoutA, client, codes[0])).toMatchObject({ ok: false, reason: "invalid" });
    await expect(renderOutboxMessage(withoutA, link.row)).rejects.toThrow(/cannot be opened/);
    expect((await renderOutboxMessage(withoutA, link.row, "(gone)")).text).toContain("(gone)");
    const logged = errors.mock.calls.map((c) => String(c[0])).join("\n");
    expect(logged).toMatch(/key id k0, which is neither TOTP_ENCRYPTION_KEY nor in TOTP_ENCRYPTION_KEYS_RETIRED/);
    expect(logged).toMatch(/key id k0, which is neither RECOVERY_CODE_KEY nor in RECOVERY_CODE_KEYS_RETIRED/);
    expect(logged).not.toContain(A);
    // Putting the key back makes them usable again: nothing was destroyed.
    expect(await verifyRecoveryAttempt(db, DURING, client, codes[0])).toEqual({ ok: true });

    // Re-encryption leaves what it cannot open alone and says so.
    const counts = await reencryptAll(run, withoutA);
    expect(counts.find((c) => c.label === "staff TOTP secrets")!.unreadable).toBeGreaterThanOrEqual(1);
    expect(await storedSecret(staff)).toMatch(/^k0:/);
  });

  it("checkCurrentKey notices keys that are not the worker's (same id, other key)", async () => {
    const firm = await createFirm();
    const staff = staffOwner(await createStaff(firm));
    await saveSecret(DURING, staff);
    vi.spyOn(console, "error").mockImplementation(() => {});
    const impostor = { TOTP_ENCRYPTION_KEY: `k1:${newKey()}`, TOTP_ENCRYPTION_KEYS_RETIRED: `k0:${A}` };
    const check = await checkCurrentKey(run, impostor);
    expect(check.checked).toBeGreaterThanOrEqual(1);
    expect(check.failed).toBeGreaterThanOrEqual(1);
  });

  it("through the worker: a staff TOTP secret and client recovery codes under an unknown key id give a refusal, not a 500", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const staffRow = await createStaff(firm);
    const staff = staffOwner(staffRow);
    const secret = await saveSecret(BEFORE, staff);
    // Under the worker's config (test keys, id k0) a k7 value has no key.
    const foreign = `k7:${(await storedSecret(staff)).slice(3)}`;
    await db.update(staffUsers).set({ totpSecret: foreign }).where(eq(staffUsers.id, staff.id));
    const browser = new Browser();
    const signIn = await browser.post("/login", { email: staffRow.email, password: PASSWORD });
    expect(signIn.headers.get("location")).toMatch(/^\/login\/2fa/);
    for (const code of [codeNow(secret), wrongCode(secret)]) {
      const response = await browser.post("/login/2fa", { code });
      expect(response.status).toBe(401);
    }

    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    await saveSecret(env, portalOwner(account));
    const codes = generateRecoveryCodes();
    await runBatch(db, await replaceRecoveryCodes(db, env, account.id, codes));
    const rows = await db.select().from(recoveryCodes).where(eq(recoveryCodes.portalAccountId, account.id));
    await db
      .update(recoveryCodes)
      .set({ codeHash: `k9:${rows[0].codeHash.slice(3)}` })
      .where(inArray(recoveryCodes.id, rows.map((r) => r.id)));
    const client = new Browser();
    const base = `/portal/${firm.slug}`;
    await client.post(`${base}/login`, { email: contact.email, password: PASSWORD });
    const used = await client.post(`${base}/recovery`, { code: codes[0] });
    expect(used.status).toBe(401);
  });
});

describe("the settings check reads key ids and retired keys", () => {
  const configured = { ...env, ENVIRONMENT: "test" } as Env;
  it.each([
    ["a bare key (k0)", { TOTP_ENCRYPTION_KEY: A }, []],
    ["a key with an id", { TOTP_ENCRYPTION_KEY: `k3:${A}` }, []],
    ["a key with retired keys", { TOTP_ENCRYPTION_KEY: `k3:${A}`, TOTP_ENCRYPTION_KEYS_RETIRED: ` k2:${B}, k1:${RA} ,k0:${RB}` }, []],
    ["a key id that is not k<digits>", { TOTP_ENCRYPTION_KEY: `key2:${A}` }, ["TOTP_ENCRYPTION_KEY has a key id that is not k<digits>"]],
    ["a key with an id but not 32 bytes", { RECOVERY_CODE_KEY: "k2:c2hvcnQ=" }, ["RECOVERY_CODE_KEY is not base64 of 32 bytes"]],
    ["a retired key that is not base64", { RECOVERY_CODE_KEYS_RETIRED: `k1:${RA},k0:not base64!!` }, ["RECOVERY_CODE_KEYS_RETIRED (entry 2) is not base64"]],
    ["a retired key with the current key's id", { TOTP_ENCRYPTION_KEY: `k1:${A}`, TOTP_ENCRYPTION_KEYS_RETIRED: `k1:${B}` }, ["TOTP_ENCRYPTION_KEYS_RETIRED (entry 1) has key id k1, the id of the current key"]],
    ["a bare current key and another retired k0", { TOTP_ENCRYPTION_KEY: A, TOTP_ENCRYPTION_KEYS_RETIRED: `k0:${B}` }, ["TOTP_ENCRYPTION_KEYS_RETIRED (entry 1) has key id k0, the id of the current key"]],
    ["the current key also in the retired list (first step of a rotation)", { TOTP_ENCRYPTION_KEY: A, TOTP_ENCRYPTION_KEYS_RETIRED: `k0:${A}` }, []],
    ["two retired keys with one id", { TOTP_ENCRYPTION_KEY: `k2:${A}`, TOTP_ENCRYPTION_KEYS_RETIRED: `k1:${B},k1:${RA}` }, ["TOTP_ENCRYPTION_KEYS_RETIRED (entry 2) repeats key id k1"]],
  ] as const)("%s", (_label, settings, expected) => {
    const problems = settingsProblems({ ...configured, ...settings } as Env);
    expect(problems.length).toBe(expected.length);
    expected.forEach((text, i) => expect(problems[i]).toContain(text));
    // Problems name settings, never values.
    for (const value of Object.values(settings)) for (const part of value.split(/[,:]/)) if (part.trim().length > 8) expect(problems.join(" ")).not.toContain(part.trim());
  });

  it("parseKeyring keeps every key by id, the current one included", () => {
    const parsed = parseKeyring(TOTP_KEY_NAMES, `k2:${A}`, `k1:${B},${RA}`);
    expect(parsed.ok && [...parsed.keyring.byId.keys()]).toEqual(["k2", "k1", "k0"]);
    expect(parsed.ok && parsed.keyring.current.id).toBe("k2");
  });
});

function base32(key: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key.replace(/ /g, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return bytes;
}
