// The public API (/api/v1), through the real worker with real D1: every endpoint's success path,
// validation, pagination, idempotent retries, rate limits, the audit trail and the OpenAPI document.
import { and, eq, gte } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accessLinks, apiKeys, auditEvents, contacts, firms, outbox, portalAccounts, rateLimits, sessions, webauthnCredentials } from "../../db/schema";
import { v1 } from "../../app/api/v1";
import { LIMITS, windowRemainingMs } from "../../app/server/rate-limit.server";
import { callApi, createApiKey, json, type TestKey } from "../support/api";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { registerPasskey, signInWithPasskey, SoftAuthenticator } from "../support/webauthn";
import { settle } from "../support/portal";

type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string> } };
type ContactBody = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  company: string | null;
  notes: string | null;
  portal: { status: string; loginEmail: string | null; twoFactorEnabled: boolean; activeSessions: number; activeLinks: number; invitedAt: string | null; passkeys?: number };
};
type Page<T> = { data: T[]; nextCursor: string | null };

async function setup(options: { plan?: "team" | "business" | "enterprise" } = {}) {
  const firm = await createFirm(options);
  const key = await createApiKey(firm, "read_write");
  return { firm, key };
}

async function eventsOf(firm: TestFirm, type: string) {
  return db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, type)));
}

async function clientWithSession(firm: TestFirm, options: { twoFactor?: boolean } = {}) {
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  if (options.twoFactor) await db.update(portalAccounts).set({ totpEnabledAt: Date.now(), totpSecret: "sealed" }).where(eq(portalAccounts.id, account.id));
  await clientBrowser(account, { twoFactor: options.twoFactor });
  return { contact, account };
}

async function sessionsOf(contactId: string) {
  return db.select().from(sessions).where(eq(sessions.contactId, contactId));
}

describe("GET and PUT /security-mode", () => {
  it("reads the mode and the modes the plan allows", async () => {
    const { key } = await setup({ plan: "team" });
    const response = await callApi(key, "GET", "/security-mode");
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ mode: "magic_link_and_login", plan: "team", selectableModes: ["magic_link_and_login", "magic_link_only"] });
  });

  it("switching to Magic link only ends client password sessions, is audited under the key's name", async () => {
    const { firm, key } = await setup();
    const { contact } = await clientWithSession(firm);
    const response = await callApi(key, "PUT", "/security-mode", { body: { mode: "magic_link_only" } });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ mode: "magic_link_only", changed: true, endedSessions: 1 });
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_only");
    expect(await sessionsOf(contact.id)).toHaveLength(0);
    const [event] = await eventsOf(firm, "firm.security_mode_changed");
    expect(event).toMatchObject({ actorType: "api", actorId: key.id, actorLabel: `api_key:${key.name}` });
    expect(JSON.parse(event.detail!)).toMatchObject({ from: "magic_link_and_login", to: "magic_link_only", endedSessions: 1 });
  });

  it("switching to the 2FA mode ends sessions that have not passed 2FA and keeps those that have", async () => {
    const { firm, key } = await setup();
    const without = await clientWithSession(firm);
    const withTwoFactor = await clientWithSession(firm, { twoFactor: true });
    const response = await callApi(key, "PUT", "/security-mode", { body: { mode: "magic_link_and_login_2fa" } });
    expect(await json(response)).toEqual({ mode: "magic_link_and_login_2fa", changed: true, endedSessions: 1 });
    expect(await sessionsOf(without.contact.id)).toHaveLength(0);
    expect(await sessionsOf(withTwoFactor.contact.id)).toHaveLength(1);
  });

  it("plan gating: a team firm cannot pick the 2FA mode (403 plan_required) and nothing changes", async () => {
    const { firm, key } = await setup({ plan: "team" });
    const response = await callApi(key, "PUT", "/security-mode", { body: { mode: "magic_link_and_login_2fa" } });
    expect(response.status).toBe(403);
    expect((await json<ErrorBody>(response)).error.code).toBe("plan_required");
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_and_login");
    expect(await eventsOf(firm, "firm.security_mode_changed")).toHaveLength(0);
  });

  it("the same mode again changes nothing", async () => {
    const { key } = await setup();
    const response = await callApi(key, "PUT", "/security-mode", { body: { mode: "magic_link_and_login" } });
    expect(await json(response)).toEqual({ mode: "magic_link_and_login", changed: false, endedSessions: 0 });
  });
});

describe("GET /contacts", () => {
  it("pages through every contact once with the cursor, in every sort order", async () => {
    const { firm, key } = await setup();
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createContact(firm, { name: `Person ${i}` }));
    await createPortalAccount(firm, made[2]);
    for (const sort of ["name", "last_sign_in", "portal_status"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?limit=2&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const response = await callApi(key, "GET", `/contacts${query}`);
        expect(response.status).toBe(200);
        const page = await json<Page<ContactBody>>(response);
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(seen.sort()).toEqual(made.map((c) => c.id).sort());
    }
  });

  it("filters on portal access and searches like the contacts page", async () => {
    const { firm, key } = await setup();
    const withAccount = await createContact(firm, { name: "Has Login" });
    await createPortalAccount(firm, withAccount);
    await createContact(firm, { name: "No Login" });
    const filtered = await json<Page<ContactBody>>(await callApi(key, "GET", "/contacts?filter=has_account"));
    expect(filtered.data.map((c) => c.name)).toEqual(["Has Login"]);
    expect(filtered.data[0].portal).toMatchObject({ status: "account", loginEmail: withAccount.email, twoFactorEnabled: false });
    const searched = await json<Page<ContactBody>>(await callApi(key, "GET", "/contacts?search=No%20Log"));
    expect(searched.data.map((c) => c.name)).toEqual(["No Login"]);
  });

  it("refuses a cursor from another sort order or a made-up one with 422", async () => {
    const { firm, key } = await setup();
    for (let i = 0; i < 3; i++) await createContact(firm);
    const first = await json<Page<ContactBody>>(await callApi(key, "GET", "/contacts?limit=1"));
    const otherSort = await callApi(key, "GET", `/contacts?limit=1&sort=last_sign_in&cursor=${first.nextCursor}`);
    expect(otherSort.status).toBe(422);
    expect((await json<ErrorBody>(otherSort)).error.fields).toHaveProperty("cursor");
    for (const cursor of ["x", "%00", "W10", "eyJhIjoxfQ", "a".repeat(3000)]) {
      const response = await callApi(key, "GET", `/contacts?cursor=${cursor}`);
      expect(response.status).toBe(422);
    }
    for (const query of ["limit=0", "limit=101", "limit=abc", "filter=bogus", "sort=email", "dir=up"]) {
      const response = await callApi(key, "GET", `/contacts?${query}`);
      expect(response.status, query).toBe(422);
      expect((await json<ErrorBody>(response)).error.code).toBe("validation_failed");
    }
  });
});

describe("GET /contacts/{id}", () => {
  it("shows the contact with their portal access", async () => {
    const { firm, key } = await setup();
    const { contact } = await clientWithSession(firm, { twoFactor: true });
    const response = await callApi(key, "GET", `/contacts/${contact.id}`);
    expect(response.status).toBe(200);
    const body = await json<ContactBody>(response);
    expect(body).toMatchObject({ id: contact.id, email: contact.email });
    expect(body.portal).toMatchObject({ status: "account", loginEmail: contact.email, twoFactorEnabled: true, activeSessions: 1 });
  });

  it("answers 404 for an unknown or malformed id", async () => {
    const { key } = await setup();
    for (const id of ["nope", "..%2F..%2Fsecurity-mode", "%00", "a".repeat(150), "'%20OR%201=1"]) {
      const response = await callApi(key, "GET", `/contacts/${id}`);
      expect([404, 422]).toContain(response.status);
      expect((await json<ErrorBody>(response)).error).toBeTruthy();
    }
  });
});

describe("POST /contacts and PATCH /contacts/{id}", () => {
  it("adds a contact (201), audited under the key", async () => {
    const { firm, key } = await setup();
    const response = await callApi(key, "POST", "/contacts", { body: { name: " Olivia Chen ", email: "Olivia@Client.Example", phone: "+1 555 0100" } });
    expect(response.status).toBe(201);
    const body = await json<ContactBody>(response);
    expect(body).toMatchObject({ name: "Olivia Chen", email: "olivia@client.example", phone: "+1 555 0100", company: null });
    const [row] = await db.select().from(contacts).where(eq(contacts.id, body.id));
    expect(row.firmId).toBe(firm.id);
    const [event] = await eventsOf(firm, "contact.created");
    expect(event).toMatchObject({ actorType: "api", actorLabel: `api_key:${key.name}`, contactId: body.id });
  });

  it("refuses a second contact with the same email (409) and bad fields (422 with a message per field)", async () => {
    const { firm, key } = await setup();
    const existing = await createContact(firm);
    const taken = await callApi(key, "POST", "/contacts", { body: { name: "Twin", email: existing.email.toUpperCase() } });
    expect(taken.status).toBe(409);
    expect((await json<ErrorBody>(taken)).error).toMatchObject({ code: "conflict", fields: { email: expect.any(String) } });
    const invalid = await callApi(key, "POST", "/contacts", { body: { name: "", email: "not-an-email", phone: "call me", extra: 1 } });
    expect(invalid.status).toBe(422);
    const error = (await json<ErrorBody>(invalid)).error;
    expect(error.code).toBe("validation_failed");
    expect(Object.keys(error.fields!)).toEqual(expect.arrayContaining(["name", "email", "phone"]));
    expect(error.fields!.email).toBe("Enter a valid email address.");
    expect(await db.select().from(contacts).where(eq(contacts.firmId, firm.id))).toHaveLength(1);
  });

  it("changes only the fields sent; null clears an optional field", async () => {
    const { firm, key } = await setup();
    const created = await json<ContactBody>(
      await callApi(key, "POST", "/contacts", { body: { name: "Marcus", email: "marcus@client.example", company: "Marcus LLC", notes: "VIP" } }),
    );
    const response = await callApi(key, "PATCH", `/contacts/${created.id}`, { body: { phone: "020 7946 0000", notes: null } });
    expect(response.status).toBe(200);
    expect(await json<ContactBody>(response)).toMatchObject({ name: "Marcus", company: "Marcus LLC", phone: "020 7946 0000", notes: null });
    const [event] = await eventsOf(firm, "contact.updated");
    expect(JSON.parse(event.detail!).fields).toEqual(["phone", "notes"]);
    expect(event.actorLabel).toBe(`api_key:${key.name}`);
  });

  it("refuses to change a login's email (409): that is Edit login details' job", async () => {
    const { firm, key } = await setup();
    const { contact } = await clientWithSession(firm);
    const response = await callApi(key, "PATCH", `/contacts/${contact.id}`, { body: { email: "new@client.example" } });
    expect(response.status).toBe(409);
    const [row] = await db.select().from(contacts).where(eq(contacts.id, contact.id));
    expect(row.email).toBe(contact.email);
  });
});

describe("portal access of a contact", () => {
  it("POST portal-link emails a link or an invite, audited under the key", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    for (const kind of ["link", "invite"] as const) {
      const response = await callApi(key, "POST", `/contacts/${contact.id}/portal-link`, { body: { kind } });
      expect(response.status).toBe(202);
      expect(await json(response)).toMatchObject({ sentTo: contact.email, kind });
    }
    await settle();
    const links = await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id));
    expect(links.map((l) => l.purpose).sort()).toEqual(["invite", "staff"]);
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).toHaveLength(2);
    const events = await eventsOf(firm, "access_link.sent");
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.actorLabel === `api_key:${key.name}`)).toBe(true);
    const shown = await json<ContactBody>(await callApi(key, "GET", `/contacts/${contact.id}`));
    expect(shown.portal.status).toBe("invited");
  });

  it("POST portal-link mails a contact at most 3 times in 10 minutes (429 with Retry-After)", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callApi(key, "POST", `/contacts/${contact.id}/portal-link`, { body: { kind: "link" } })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const refused = await callApi(key, "POST", `/contacts/${contact.id}/portal-link`, { body: { kind: "invite" } });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await json<ErrorBody>(refused)).error.code).toBe("rate_limited");
    await settle();
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).toHaveLength(3);
  });

  it("POST two-factor/deactivate turns 2FA off, ends sessions, emails the client; 409 when it is off", async () => {
    const { firm, key } = await setup();
    const { contact, account } = await clientWithSession(firm, { twoFactor: true });
    const response = await callApi(key, "POST", `/contacts/${contact.id}/two-factor/deactivate`, { body: { reason: "Lost phone, called us" } });
    expect(response.status).toBe(200);
    const [row] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(row.totpEnabledAt).toBeNull();
    expect(row.totpSecret).toBeNull();
    expect(await sessionsOf(contact.id)).toHaveLength(0);
    const [event] = await eventsOf(firm, "client.two_factor_reset");
    expect(event).toMatchObject({ actorType: "api", actorLabel: `api_key:${key.name}`, contactId: contact.id });
    expect(JSON.parse(event.detail!)).toEqual({ reason: "Lost phone, called us" });
    expect((await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).length).toBe(1);
    const again = await callApi(key, "POST", `/contacts/${contact.id}/two-factor/deactivate`, { body: { reason: "again please" } });
    expect(again.status).toBe(409);
    const noReason = await callApi(key, "POST", `/contacts/${contact.id}/two-factor/deactivate`, { body: { reason: " x " } });
    expect(noReason.status).toBe(422);
    expect((await json<ErrorBody>(noReason)).error.fields).toHaveProperty("reason");
  });

  it("POST passkeys/remove deletes a client's passkeys (the GET shows how many), ends sessions, emails the client; 409 when there are none", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const authenticator = await SoftAuthenticator.create();
    expect((await registerPasskey(await clientBrowser(account, { twoFactor: true }), base, authenticator)).status).toBe(200);
    expect((await json<ContactBody>(await callApi(key, "GET", `/contacts/${contact.id}`))).portal.passkeys).toBe(1);
    const since = Date.now();

    const response = await callApi(key, "POST", `/contacts/${contact.id}/passkeys/remove`, { body: { reason: "Lost laptop, called us" } });
    expect(response.status).toBe(200);
    expect(await db.select().from(webauthnCredentials).where(eq(webauthnCredentials.portalAccountId, account.id))).toHaveLength(0);
    expect(await sessionsOf(contact.id)).toHaveLength(0);
    const [event] = await eventsOf(firm, "client.passkeys_removed");
    expect(event).toMatchObject({ actorType: "api", actorLabel: `api_key:${key.name}`, contactId: contact.id });
    expect(JSON.parse(event.detail!)).toEqual({ reason: "Lost laptop, called us", count: 1 });
    const mail = await db.select().from(outbox).where(and(eq(outbox.toAddress, contact.email), gte(outbox.createdAt, since)));
    expect(mail.map((m) => m.subject)).toEqual([`${firm.name} portal: your passkeys were removed`]);
    expect((await json<ContactBody>(await callApi(key, "GET", `/contacts/${contact.id}`))).portal.passkeys).toBe(0);
    // The removed passkey no longer signs anyone in.
    expect((await signInWithPasskey(new Browser("198.51.100.91"), base, authenticator)).status).not.toBe(200);

    const again = await callApi(key, "POST", `/contacts/${contact.id}/passkeys/remove`, { body: { reason: "again please" } });
    expect(again.status).toBe(409);
    expect((await json<ErrorBody>(again)).error.code).toBe("conflict");
    const noReason = await callApi(key, "POST", `/contacts/${contact.id}/passkeys/remove`, { body: { reason: " x " } });
    expect(noReason.status).toBe(422);
    expect((await json<ErrorBody>(noReason)).error.fields).toHaveProperty("reason");
    const noLogin = await createContact(firm);
    expect((await callApi(key, "POST", `/contacts/${noLogin.id}/passkeys/remove`, { body: { reason: "no login yet" } })).status).toBe(409);
    expect((await callApi(key, "POST", `/contacts/contact_nope/passkeys/remove`, { body: { reason: "not ours" } })).status).toBe(404);
  });

  it("POST sign-out-everywhere ends every session of the contact", async () => {
    const { firm, key } = await setup();
    const { contact } = await clientWithSession(firm);
    expect(await sessionsOf(contact.id)).toHaveLength(1);
    const response = await callApi(key, "POST", `/contacts/${contact.id}/sign-out-everywhere`);
    expect(response.status).toBe(200);
    expect(await sessionsOf(contact.id)).toHaveLength(0);
    const [event] = await eventsOf(firm, "client.signed_out_everywhere");
    expect(event.actorLabel).toBe(`api_key:${key.name}`);
  });
});

describe("GET /audit-events", () => {
  it("pages the firm's log newest first and filters by type and contact", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    await callApi(key, "POST", `/contacts/${contact.id}/sign-out-everywhere`);
    await callApi(key, "POST", `/contacts/${contact.id}/sign-out-everywhere`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await callApi(key, "GET", `/audit-events?limit=1&type=client.signed_out_everywhere${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      const page = await json<Page<{ id: string; type: string; contactId: string; actor: { label: string } }>>(response);
      for (const event of page.data) {
        expect(event).toMatchObject({ type: "client.signed_out_everywhere", contactId: contact.id, actor: { label: `api_key:${key.name}` } });
        seen.push(event.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(2);
    const byContact = await json<Page<{ contactId: string }>>(await callApi(key, "GET", `/audit-events?contactId=${contact.id}`));
    expect(byContact.data.length).toBe(2);
    for (const query of ["from=2026-13-01", "to=yesterday", "type=DROP%20TABLE", "cursor=abc", "limit=1000"]) {
      expect((await callApi(key, "GET", `/audit-events?${query}`)).status, query).toBe(422);
    }
  });
});

describe("every call is audit-logged and updates the key's last use", () => {
  it("one api_key.used event per call, with the route pattern and the status", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    await callApi(key, "GET", `/contacts/${contact.id}`);
    await callApi(key, "GET", "/contacts/unknown-id");
    await callApi(key, "POST", "/contacts", { body: { name: "" } });
    const events = await eventsOf(firm, "api_key.used");
    expect(events).toHaveLength(3);
    const details = events.map((e) => JSON.parse(e.detail!)).sort((a, b) => a.status - b.status);
    expect(details).toEqual([
      { method: "GET", route: "/api/v1/contacts/:contactId", status: 200 },
      { method: "GET", route: "/api/v1/contacts/:contactId", status: 404 },
      { method: "POST", route: "/api/v1/contacts", status: 422 },
    ]);
    expect(events.every((e) => e.actorType === "api" && e.actorId === key.id && e.ip === "198.51.100.7")).toBe(true);
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row.lastUsedAt).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("Idempotency-Key", () => {
  it("a retried create acts once and answers the same; the replay is marked", async () => {
    const { firm, key } = await setup();
    const headers = { "idempotency-key": "order-4711" };
    const body = { name: "Nina", email: "nina@client.example" };
    const first = await callApi(key, "POST", "/contacts", { body, headers });
    const second = await callApi(key, "POST", "/contacts", { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(await first.json());
    expect(await db.select().from(contacts).where(eq(contacts.firmId, firm.id))).toHaveLength(1);
    expect(await eventsOf(firm, "contact.created")).toHaveLength(1);
  });

  it("a retried portal link sends one email; the same key with another body is refused (422)", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    for (let i = 0; i < 3; i++) {
      expect((await callApi(key, "POST", `/contacts/${contact.id}/portal-link`, { body: { kind: "invite" }, headers })).status).toBe(202);
    }
    const other = await callApi(key, "POST", `/contacts/${contact.id}/portal-link`, { body: { kind: "link" }, headers });
    expect(other.status).toBe(422);
    expect((await json<ErrorBody>(other)).error.code).toBe("idempotency_key_reused");
    const elsewhere = await callApi(key, "POST", `/contacts/${contact.id}/sign-out-everywhere`, { headers });
    expect(elsewhere.status).toBe(422);
    await settle();
    expect(await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id))).toHaveLength(1);
    expect(await db.select().from(outbox).where(eq(outbox.toAddress, contact.email))).toHaveLength(1);
  });

  it("keys are per API key: another key of the firm may use the same value", async () => {
    const { firm, key } = await setup();
    const other = await createApiKey(firm, "read_write");
    const headers = { "idempotency-key": "same" };
    expect((await callApi(key, "POST", "/contacts", { body: { name: "A", email: "a@client.example" }, headers })).status).toBe(201);
    expect((await callApi(other, "POST", "/contacts", { body: { name: "B", email: "b@client.example" }, headers })).status).toBe(201);
  });

  it("refuses a malformed Idempotency-Key with 422", async () => {
    const { key } = await setup();
    for (const value of ["", "x".repeat(256), "two words", "a\tb"]) {
      const response = await callApi(key, "POST", "/contacts", { body: { name: "A", email: "a@client.example" }, headers: { "idempotency-key": value } });
      expect(response.status, JSON.stringify(value)).toBe(422);
    }
  });
});

describe("rate limit per key", () => {
  it("answers 429 with Retry-After once the key used its calls this minute; other keys are not affected", async () => {
    const { firm, key } = await setup();
    const rule = LIMITS.apiPerKey;
    const windowStart = Math.floor(Date.now() / rule.windowMs) * rule.windowMs;
    // The counter as 600 calls of this minute would have left it.
    for (const start of [windowStart, windowStart + rule.windowMs]) {
      await db.insert(rateLimits).values({ key: `${rule.name}:${key.id}`, windowStart: start, count: rule.limit });
    }
    const response = await callApi(key, "GET", "/security-mode");
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await json<ErrorBody>(response)).error.code).toBe("rate_limited");
    const write = await callApi(key, "POST", "/contacts", { body: { name: "A", email: "a@client.example" } });
    expect(write.status).toBe(429);
    expect(await db.select().from(contacts).where(eq(contacts.firmId, firm.id))).toHaveLength(0);
    const other = await createApiKey(firm);
    expect((await callApi(other, "GET", "/security-mode")).status).toBe(200);
  });

  it("counts real calls: the 601st call of a minute is refused", async () => {
    const { key } = await setup();
    const rule = LIMITS.apiPerKey;
    // The four calls must fall in one window: a window that ends within 5 s is waited out first (an edge
    // between the calls would add the whole seeded count again as the previous window's).
    const left = windowRemainingMs(rule);
    if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 10));
    const windowStart = Math.floor(Date.now() / rule.windowMs) * rule.windowMs;
    await db.insert(rateLimits).values({ key: `${rule.name}:${key.id}`, windowStart, count: rule.limit - 3 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callApi(key, "GET", "/security-mode")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe("bad input never gives a 500", () => {
  it("malformed JSON, wrong content types, wrong types and oversized bodies get 400/413/415/422 in the error shape", async () => {
    const { firm, key } = await setup();
    const contact = await createContact(firm);
    const writes: [string, string][] = [
      ["PUT", "/security-mode"],
      ["POST", "/contacts"],
      ["PATCH", `/contacts/${contact.id}`],
      ["POST", `/contacts/${contact.id}/portal-link`],
      ["POST", `/contacts/${contact.id}/two-factor/deactivate`],
      ["POST", `/contacts/${contact.id}/passkeys/remove`],
    ];
    const payloads: { rawBody?: string; body?: unknown; headers?: Record<string, string> }[] = [
      { rawBody: "{", headers: { "content-type": "application/json" } },
      { rawBody: "not json at all", headers: { "content-type": "application/json" } },
      { rawBody: "", headers: { "content-type": "application/json" } },
      { rawBody: "mode=magic_link_only", headers: { "content-type": "application/x-www-form-urlencoded" } },
      { rawBody: '{"mode":"magic_link_only"}' },
      { rawBody: '{"mode":"magic_link_only"}', headers: { "content-type": "text/plain" } },
      { body: null },
      { body: [] },
      { body: "magic_link_only" },
      { body: 42 },
      { body: { mode: 1, name: 2, email: [], kind: {}, reason: false, phone: 3 } },
      { body: { mode: "x".repeat(10_000), name: "x".repeat(10_000), email: "x".repeat(10_000), kind: "x", reason: "x".repeat(10_000) } },
      { body: { __proto__: { admin: true }, constructor: { prototype: { x: 1 } } } },
      { body: { name: "\u0000", email: "a@b.c\u0000", kind: "link\u0000" } },
      { rawBody: JSON.stringify({ notes: "x".repeat(70 * 1024) }), headers: { "content-type": "application/json" } },
    ];
    const before = await db.select().from(contacts).where(eq(contacts.firmId, firm.id));
    for (const [method, path] of writes) {
      for (const payload of payloads) {
        const response = await callApi(key, method, path, payload);
        const label = `${method} ${path} ${JSON.stringify(payload).slice(0, 80)}`;
        expect([400, 404, 409, 413, 415, 422], label).toContain(response.status);
        const body = await json<ErrorBody>(response);
        expect(typeof body.error?.code, label).toBe("string");
        expect(typeof body.error?.message, label).toBe("string");
      }
    }
    expect(await db.select().from(contacts).where(eq(contacts.firmId, firm.id))).toEqual(before);
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_and_login");
  });

  it("unknown endpoints and methods answer a JSON 404", async () => {
    const { key } = await setup();
    for (const [method, path] of [
      ["GET", "/nothing"],
      ["DELETE", "/contacts"],
      ["GET", "/contacts/x/portal-link"],
    ]) {
      const response = await callApi(key, method, path);
      expect(response.status).toBe(404);
      expect((await json<ErrorBody>(response)).error.code).toBe("not_found");
    }
    const outside = await callApi(key, "GET", "/../v2/contacts".replace("/..", ""));
    expect(outside.status).toBe(404);
  });
});

describe("the OpenAPI document", () => {
  type Operation = {
    responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
    requestBody?: { content?: Record<string, { schema?: unknown }> };
    parameters?: { name: string; in: string }[];
    security?: unknown[];
  };
  type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };

  it("is OpenAPI 3.1.0 and lists exactly the routes the app serves, each with responses and its request schema", async () => {
    const response = await callApi(null, "GET", "/openapi.json");
    expect(response.status).toBe(200);
    const document = await json<Document>(response);
    expect(document.openapi).toBe("3.1.0");
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });

    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    // The routes hono serves, minus middleware (method ALL) and the reference itself.
    const served = v1.routes
      .filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs"].includes(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    expect([...new Set(served)].sort()).toEqual(documented.sort());
    expect(documented.length).toBe(11);

    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const label = `${method} ${path}`;
        expect(Object.keys(operation.responses ?? {}).length, label).toBeGreaterThan(1);
        for (const [status, answer] of Object.entries(operation.responses!)) {
          expect(answer.content?.["application/json"]?.schema, `${label} ${status}`).toBeTruthy();
        }
        expect(operation.security, label).toEqual([{ apiKey: [] }]);
        for (const name of path.match(/\{([A-Za-z]+)\}/g) ?? []) {
          expect(operation.parameters?.some((p) => p.in === "path" && `{${p.name}}` === name), `${label} ${name}`).toBe(true);
        }
        if (method === "get") {
          expect(operation.requestBody, label).toBeUndefined();
        } else {
          expect(operation.parameters?.some((p) => p.in === "header" && p.name === "Idempotency-Key"), label).toBe(true);
          // Every write with a body documents its schema; sign-out-everywhere has none.
          if (!path.endsWith("/sign-out-everywhere")) expect(operation.requestBody?.content?.["application/json"]?.schema, label).toBeTruthy();
        }
      }
    }
    const contactCreate = JSON.stringify(document.components.schemas.ContactCreate);
    expect(contactCreate).toContain('"maxLength":200');
    expect(contactCreate).toContain('"additionalProperties":false');
  });

  it("every $ref in the document resolves", async () => {
    const text = await (await callApi(null, "GET", "/openapi.json")).text();
    const document = JSON.parse(text) as Document;
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(document.components.schemas, ref).toHaveProperty(ref);
  });

  it("the reference page is server-rendered HTML with every operation and no script", async () => {
    const response = await callApi(null, "GET", "/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self' 'nonce-");
    const html = await response.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/i);
    const document = await json<Document>(await callApi(null, "GET", "/openapi.json"));
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) expect(html).toContain(`${method.toUpperCase()} ${path}`);
    }
    expect(html).toContain("Authorization: Bearer");
  });
});

describe("cookies never authenticate the API", () => {
  it("a signed-in admin's browser gets 401 on reads and writes, and nothing changes", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm, { role: "admin" });
    const browser = await signInStaff(staff.email, PASSWORD);
    const read = await browser.fetch("/api/v1/contacts");
    expect(read.status).toBe(401);
    expect(read.headers.get("www-authenticate")).toContain("Bearer");
    const write = await browser.fetch("/api/v1/security-mode", {
      method: "PUT",
      headers: { "content-type": "application/json", origin: "http://portal.test", "sec-fetch-site": "same-origin" },
      body: JSON.stringify({ mode: "magic_link_only" }),
    });
    expect(write.status).toBe(401);
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.securityMode).toBe("magic_link_and_login");
  });

  it("answers no CORS preflight, so a page on another site cannot send a key from a browser", async () => {
    const response = await callApi(null, "OPTIONS", "/contacts", { headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("key-authenticated calls from servers (no Origin, no Sec-Fetch-Site) pass the cross-site write guard", async () => {
    const { key } = await setup();
    const response = await callApi(key as TestKey, "PUT", "/security-mode", { body: { mode: "magic_link_only" } });
    expect(response.status).toBe(200);
  });
});
