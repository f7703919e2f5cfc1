// SECURITY.md rule 36: API keys are shown once, stored hashed, scoped (read / read-write), revocable at
// once, rate limited, and every use is audit-logged. Also rule 20 (another firm's ids answer 404) and
// rule 21 (members cannot manage keys) for the API and its settings page.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, apiKeys, auditEvents, contacts, firms, outbox, portalAccounts, sessions } from "../../db/schema";
import { placesHolding } from "../support/at-rest";
import { callApi, createApiKey, json, type TestKey } from "../support/api";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { settle } from "../support/portal";

const PAGE = "/app/settings/api-keys";
const KEY_PATTERN = /cpk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/g;

async function admin(firm: TestFirm): Promise<Browser> {
  const staff = await createStaff(firm, { role: "admin" });
  return signInStaff(staff.email, PASSWORD);
}

async function createKeyThroughPage(browser: Browser, name: string, scope: "read" | "read_write"): Promise<string> {
  const response = await browser.post(PAGE, { intent: "create", name, scope });
  expect(response.status).toBe(200);
  const keys = (await response.text()).match(KEY_PATTERN) ?? [];
  expect(new Set(keys).size).toBe(1);
  return keys[0]!;
}

/** Everything a write could change for a firm, to prove a refused call changed nothing. */
async function firmState(firm: TestFirm) {
  const [firmRow] = await db.select().from(firms).where(eq(firms.id, firm.id));
  return {
    firm: firmRow,
    contacts: await db.select().from(contacts).where(eq(contacts.firmId, firm.id)).orderBy(contacts.id),
    accounts: await db.select().from(portalAccounts).where(eq(portalAccounts.firmId, firm.id)).orderBy(portalAccounts.id),
    sessions: (await db.select().from(sessions).where(eq(sessions.firmId, firm.id))).map((s) => s.id).sort(),
    links: (await db.select().from(accessLinks).where(eq(accessLinks.firmId, firm.id))).length,
    outbox: (await db.select().from(outbox).where(eq(outbox.firmId, firm.id))).length,
    events: (await db.select().from(auditEvents).where(eq(auditEvents.firmId, firm.id))).filter((e) => e.type !== "api_key.used").length,
  };
}

/** A firm with a contact that has a login, 2FA on and a live session: something for every write to change. */
async function firmWithClient() {
  const firm = await createFirm();
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  await db.update(portalAccounts).set({ totpEnabledAt: Date.now(), totpSecret: "sealed" }).where(eq(portalAccounts.id, account.id));
  await clientBrowser(account, { twoFactor: true });
  return { firm, contact };
}

function writesOn(contactId: string): [string, string, unknown][] {
  return [
    ["PUT", "/security-mode", { mode: "magic_link_only" }],
    ["POST", "/contacts", { name: "New", email: "new-contact@client.example" }],
    ["PATCH", `/contacts/${contactId}`, { name: "Renamed" }],
    ["POST", `/contacts/${contactId}/portal-link`, { kind: "invite" }],
    ["POST", `/contacts/${contactId}/two-factor/deactivate`, { reason: "test reason" }],
    ["POST", `/contacts/${contactId}/passkeys/remove`, { reason: "test reason" }],
    ["POST", `/contacts/${contactId}/sign-out-everywhere`, undefined],
  ];
}

describe("rule 36: API keys are shown once and stored hashed", () => {
  it("the page shows a new key once; afterwards neither the page nor any D1 row or KV entry holds it", async () => {
    const firm = await createFirm();
    const browser = await admin(firm);
    const key = await createKeyThroughPage(browser, "Practice sync", "read");
    expect((await callApi(key, "GET", "/security-mode")).status).toBe(200);
    const page = await (await browser.fetch(PAGE)).text();
    expect(page).toContain("Practice sync");
    expect(page).not.toMatch(KEY_PATTERN);
    // "cpk_" + 32 hex + "_" = 37 characters, then the 43-character secret.
    const secret = key.slice(37);
    expect(secret).toHaveLength(43);
    expect(await placesHolding([key, secret])).toEqual([]);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.firmId, firm.id));
    expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.scope).toBe("read");
    const [created] = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "api_key.created")));
    expect(created.detail).not.toMatch(KEY_PATTERN);
  });
});

describe("rule 36: authentication", () => {
  it("no key, a malformed key, a wrong secret, another scheme or a cookie get 401 with the same body", async () => {
    const firm = await createFirm();
    const good = await createApiKey(firm);
    const [, id, secret] = /^cpk_([0-9a-f]{32})_(.+)$/.exec(good.key)!;
    const flipped = secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");
    const attempts: (string | null)[] = [
      null,
      "",
      "Bearer",
      "Bearer ",
      `Bearer cpk_${id}_${flipped}`,
      `Bearer cpk_${id}_`,
      `Bearer cpk_${id}`,
      `Bearer cpk_${"0".repeat(32)}_${secret}`,
      `Bearer ${secret}`,
      `Bearer ${good.key} `.repeat(2),
      `Bearer ${good.key}x`,
      `Bearer ${good.key.toUpperCase()}`,
      `Basic ${btoa(`${good.key}:`)}`,
      `Token ${good.key}`,
      good.key,
      `Bearer ${"x".repeat(10_000)}`,
      `Bearer cpk_${id}_${secret.slice(0, 42)}=`,
    ];
    const bodies = new Set<string>();
    for (const authorization of attempts) {
      const response = await callApi(null, "GET", "/contacts", { headers: authorization === null ? {} : { authorization } });
      expect(response.status, String(authorization).slice(0, 60)).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
      bodies.add(await response.text());
    }
    expect(bodies.size).toBe(1);
    // A write with a bad key is refused before its body is looked at.
    const write = await callApi(`cpk_${id}_${flipped}`, "PUT", "/security-mode", { body: { mode: "magic_link_only" } });
    expect(write.status).toBe(401);
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_and_login");
    const withCookie = await callApi(null, "GET", "/contacts", { headers: { cookie: `__Host-staff_session=${good.key}` } });
    expect(withCookie.status).toBe(401);
    // "Bearer" in any case is the same scheme (RFC 9110).
    expect((await callApi(null, "GET", "/contacts", { headers: { authorization: `bearer ${good.key}` } })).status).toBe(200);
  });

  it("a revoked key gets 401 on its very next call", async () => {
    const firm = await createFirm();
    const browser = await admin(firm);
    const key = await createKeyThroughPage(browser, "To revoke", "read_write");
    expect((await callApi(key, "GET", "/contacts")).status).toBe(200);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.firmId, firm.id));
    const revoke = await browser.post(PAGE, { intent: "revoke", keyId: row.id });
    expect(revoke.status).toBe(200);
    for (const [method, path, body] of [["GET", "/contacts"], ["PUT", "/security-mode", { mode: "magic_link_only" }]] as [string, string, unknown][]) {
      const response = await callApi(key, method, path, body === undefined ? {} : { body });
      expect(response.status).toBe(401);
    }
    const [firmRow] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(firmRow.securityMode).toBe("magic_link_and_login");
    const page = await (await browser.fetch(PAGE)).text();
    expect(page).toContain("Revoked");
    const types = (await db.select().from(auditEvents).where(eq(auditEvents.firmId, firm.id))).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["api_key.created", "api_key.revoked"]));
  });

  it("another firm's admin cannot revoke this firm's key", async () => {
    const mine = await createFirm();
    const key = await createApiKey(mine);
    const otherAdmin = await admin(await createFirm());
    const response = await otherAdmin.post(PAGE, { intent: "revoke", keyId: key.id });
    expect(response.status).toBe(404);
    expect((await callApi(key, "GET", "/contacts")).status).toBe(200);
  });
});

describe("rule 36: a read key cannot write", () => {
  it("every write answers 403 and nothing changes, with or without a valid body or an Idempotency-Key", async () => {
    const { firm, contact } = await firmWithClient();
    const key = await createApiKey(firm, "read");
    const before = await firmState(firm);
    for (const [method, path, body] of writesOn(contact.id)) {
      const headerSets: Record<string, string>[] = [{}, { "idempotency-key": "k1" }];
      for (const headers of headerSets) {
        const response = await callApi(key, method, path, { body, headers });
        expect(response.status, `${method} ${path}`).toBe(403);
        expect((await json<{ error: { code: string } }>(response)).error.code).toBe("forbidden");
      }
      const garbage = await callApi(key, method, path, { rawBody: "{", headers: { "content-type": "application/json" } });
      expect(garbage.status).toBe(403);
    }
    await settle();
    expect(await firmState(firm)).toEqual(before);
    // Reads work.
    expect((await callApi(key, "GET", `/contacts/${contact.id}`)).status).toBe(200);
  });
});

describe("rule 36 and rule 20: another firm's ids answer 404 and change nothing", () => {
  it("a read-write key of firm B gets 404 on every call naming firm A's contact", async () => {
    const { firm: firmA, contact } = await firmWithClient();
    const firmB = await createFirm();
    const keyB = await createApiKey(firmB, "read_write");
    const before = await firmState(firmA);
    const get = await callApi(keyB, "GET", `/contacts/${contact.id}`);
    expect(get.status).toBe(404);
    expect(await get.text()).not.toContain(contact.email);
    for (const [method, path, body] of writesOn(contact.id).filter(([, path]) => path.includes(contact.id))) {
      const response = await callApi(keyB, method, path, { body });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    await settle();
    expect(await firmState(firmA)).toEqual(before);
    const list = await (await callApi(keyB, "GET", `/contacts?search=${encodeURIComponent(contact.email)}`)).text();
    expect(list).not.toContain(contact.id);
    const audit = await (await callApi(keyB, "GET", `/audit-events?contactId=${contact.id}`)).json<{ data: unknown[] }>();
    expect(audit.data).toEqual([]);
    // Firm B's mode calls change firm B only.
    expect((await callApi(keyB, "PUT", "/security-mode", { body: { mode: "magic_link_only" } })).status).toBe(200);
    const [rowA] = await db.select().from(firms).where(eq(firms.id, firmA.id));
    expect(rowA.securityMode).toBe("magic_link_and_login");
    // Firm A's audit log holds no trace of firm B's key.
    const eventsA = await db.select().from(auditEvents).where(eq(auditEvents.firmId, firmA.id));
    expect(eventsA.some((e) => e.actorId === keyB.id)).toBe(false);
  });
});

describe("rule 36: rate limited and audit-logged", () => {
  it("every call, refused or not, is recorded as one api_key.used event of the firm (429s excepted)", async () => {
    const firm = await createFirm();
    const key: TestKey = await createApiKey(firm, "read");
    await callApi(key, "GET", "/security-mode");
    await callApi(key, "PUT", "/security-mode", { body: { mode: "magic_link_only" } });
    await callApi(key, "GET", "/contacts/nobody");
    const used = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "api_key.used")));
    expect(used.map((e) => JSON.parse(e.detail!).status).sort()).toEqual([200, 403, 404]);
    expect(used.every((e) => e.actorLabel === `api_key:${key.name}`)).toBe(true);
  });
});

describe("rule 21: only admins manage keys, after a recent sign-in", () => {
  it("members get 403 on the page and its actions, and see no API keys link", async () => {
    const firm = await createFirm();
    const key = await createApiKey(firm);
    const member = await signInStaff((await createStaff(firm, { role: "member" })).email, PASSWORD);
    expect((await member.fetch(PAGE)).status).toBe(403);
    expect((await member.post(PAGE, { intent: "create", name: "Mine", scope: "read_write" })).status).toBe(403);
    expect((await member.post(PAGE, { intent: "revoke", keyId: key.id })).status).toBe(403);
    expect(await db.select().from(apiKeys).where(eq(apiKeys.firmId, firm.id))).toHaveLength(1);
    expect((await callApi(key, "GET", "/contacts")).status).toBe(200);
    expect(await (await member.fetch("/app/contacts")).text()).not.toContain(`href="${PAGE}"`);
    const adminBrowser = await admin(firm);
    expect(await (await adminBrowser.fetch("/app/contacts")).text()).toContain(`href="${PAGE}"`);
  });

  it("rule 18: a stale sign-in is sent to confirm the password before a key is created or revoked", async () => {
    const firm = await createFirm();
    const existing = await createApiKey(firm);
    const browser = await admin(firm);
    const id = browser.cookies.get("__Host-staff_session")!.split(".")[0];
    const fifteenMinutesAgo = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: fifteenMinutesAgo, reauthenticatedAt: fifteenMinutesAgo }).where(eq(sessions.id, id));
    const forms: Record<string, string>[] = [
      { intent: "create", name: "Late", scope: "read_write" },
      { intent: "revoke", keyId: existing.id },
    ];
    for (const form of forms) {
      const response = await browser.post(PAGE, form);
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/app\/reauthenticate\?redirectTo=/);
    }
    const rows = await db.select().from(apiKeys).where(eq(apiKeys.firmId, firm.id));
    expect(rows).toHaveLength(1);
    expect(rows[0].revokedAt).toBeNull();
  });

  it("names and scopes are validated (422) and nothing is created", async () => {
    const firm = await createFirm();
    const browser = await admin(firm);
    for (const form of [
      { intent: "create", name: "", scope: "read" },
      { intent: "create", name: "x".repeat(81), scope: "read" },
      { intent: "create", name: "bad\u0007name", scope: "read" },
      { intent: "create", name: "ok", scope: "admin" },
      { intent: "create", name: "ok" },
    ]) {
      expect((await browser.post(PAGE, form as Record<string, string>)).status).toBe(422);
    }
    for (const keyId of ["", "nope", "'; DROP TABLE api_keys; --"]) {
      expect((await browser.post(PAGE, { intent: "revoke", keyId })).status).toBe(404);
    }
    expect(await db.select().from(apiKeys).where(eq(apiKeys.firmId, firm.id))).toHaveLength(0);
  });
});
