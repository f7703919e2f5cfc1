// Issue 12, "Email": delivery through the real transport (Resend's API over fetch) to a local fake
// provider (vitest.config.ts: a Worker that receives every outbound fetch, records it and fails on
// demand). Each test uses its own API key, so the fake keeps its mail apart.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, desc, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, firms, outbox } from "../../db/schema";
import worker from "../../app/worker";
import { MAX_ATTEMPTS } from "~/server/outbox-delivery.server";
import { queueEmail } from "~/server/outbox.server";
import { runScheduledJobs } from "~/server/scheduled.server";
import { placesHolding } from "../support/at-rest";
import { createContact, createFirm, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { signInStaff } from "../support/http";
import { claim, linkTokenIn, settle } from "../support/portal";

const PROVIDER = "https://email-provider.test";
const HOUR = 60 * 60_000;

type FakeRequest = { path: string; idempotencyKey: string | null; contentType: string | null; body: FakeBody | FakeBody[] | null; status: number; at: number };
type FakeBody = { from: string; to: string[]; subject: string; text: string; html?: string; reply_to?: string[] };
type FakeDelivery = FakeBody & { id: string; idempotencyKey: string | null };

/** A fresh account at the fake provider, and the worker env that sends to it. */
function fakeProvider() {
  const key = `re_test_${uid()}`;
  return {
    env: { ...env, EMAIL_API_URL: PROVIDER, EMAIL_API_KEY: key } as Env,
    /** The next answers of the provider, in order; after them it accepts. */
    async fail(statuses: number[], retryAfter?: number) {
      const response = await fetch(`${PROVIDER}/__fake/script`, { method: "POST", body: JSON.stringify({ key, statuses, retryAfter }) });
      expect(response.status).toBe(200);
    },
    async log(): Promise<{ requests: FakeRequest[]; delivered: FakeDelivery[] }> {
      return (await fetch(`${PROVIDER}/__fake/log?key=${encodeURIComponent(key)}`)).json();
    },
  };
}

/** A delivered email to the address, or a request (single or batch) that carried one. */
const to = (address: string) => (message: { to: string[] } | { body: FakeBody | FakeBody[] | null }) => {
  if (!("body" in message)) return message.to.includes(address);
  const bodies = Array.isArray(message.body) ? message.body : message.body ? [message.body] : [];
  return bodies.some((body) => body.to.includes(address));
};

/** A firm whose staff member sends a portal link to each contact through the contact page (the real flow). */
async function linksSent(count: number, firmOptions: { name?: string } = {}) {
  const firm = await createFirm(firmOptions);
  const staff = await createStaff(firm, { role: "admin" });
  const contacts = [];
  for (let i = 0; i < count; i++) contacts.push(await createContact(firm));
  const browser = await signInStaff(staff.email, PASSWORD);
  for (const contact of contacts) expect((await browser.post(`/app/contacts/${contact.id}`, { intent: "send-link" })).status).toBe(200);
  await settle();
  return { firm, staff, contacts, browser };
}

async function rowsTo(addresses: string[]) {
  return db.select().from(outbox).where(inArray(outbox.toAddress, addresses));
}

/** Runs the cron's jobs at `now` and the ones after it, as the Cron Trigger would every few minutes. */
async function cronAt(providerEnv: Env, now: number) {
  await runScheduledJobs(providerEnv, db, now);
}

describe("delivery through the provider", () => {
  it("provider down (5xx), then up: every message is kept, retried with backoff, and delivered exactly once", async () => {
    const provider = fakeProvider();
    const { contacts } = await linksSent(3);
    const addresses = contacts.map((c) => c.email);
    const start = Date.now() + 1000;

    await provider.fail([503, 503, 502]);
    await cronAt(provider.env, start);
    let log = await provider.log();
    expect(log.requests.map((r) => r.status)).toEqual([503]); // a run stops at the first sign of an outage
    expect(log.delivered).toHaveLength(0);
    const [tried] = (await rowsTo(addresses)).filter((row) => row.attempts === 1);
    expect(tried.lastError).toContain("503");
    expect(tried.nextAttemptAt).toBeGreaterThan(start);
    expect((await rowsTo(addresses)).every((row) => row.sentAt === null && row.failedAt === null && row.sealedSecret !== null)).toBe(true);

    // Still down for two more runs, then back: runs every 5 minutes, then hours later.
    for (let run = 1; run <= 8; run++) await cronAt(provider.env, start + run * 5 * 60_000);
    for (let run = 1; run <= 4; run++) await cronAt(provider.env, start + run * HOUR);

    log = await provider.log();
    expect(log.requests.filter((r) => r.status >= 500)).toHaveLength(3);
    for (const address of addresses) {
      expect(log.delivered.filter(to(address)), address).toHaveLength(1);
      expect(log.requests.filter((r) => r.status === 200 && to(address)(r)), address).toHaveLength(1);
    }
    for (const row of await rowsTo(addresses)) {
      expect(row.sentAt).not.toBeNull();
      expect(row.failedAt).toBeNull();
      expect(row.sealedSecret).toBeNull();
    }
  });

  it("a 4xx about the message is permanent after one try: never retried, audit-logged, shown on the contact's page", async () => {
    const provider = fakeProvider();
    const { firm, contacts, browser } = await linksSent(1);
    const [contact] = contacts;
    const start = Date.now() + 1000;
    await provider.fail([422]);
    await cronAt(provider.env, start);
    for (let day = 1; day <= 3; day++) await cronAt(provider.env, start + day * 24 * HOUR);

    const log = await provider.log();
    expect(log.requests).toHaveLength(1);
    expect(log.delivered).toHaveLength(0);
    const [row] = await rowsTo([contact.email]);
    expect(row.failedAt).not.toBeNull();
    expect(row.sentAt).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.lastError).toContain("422");
    expect(row.sealedSecret, "a message that will never be sent keeps no link").toBeNull();

    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "email.failed")));
    expect(events).toHaveLength(1);
    expect(events[0].contactId).toBe(contact.id);
    expect(events[0].actorType).toBe("system");
    const detail = JSON.parse(events[0].detail!);
    expect(detail).toMatchObject({ to: contact.email, subject: row.subject, attempts: 1 });
    expect(events[0].detail).not.toContain("/l/");

    const page = await browser.fetch(`/app/contacts/${contact.id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("The last email to this contact failed");
    expect(html).toContain(row.subject.replaceAll("&", "&amp;"));
    expect(html).not.toContain("The link works once"); // the subject, not the body

    // Another firm's admin sees nothing of it.
    const other = await createFirm();
    const otherAdmin = await createStaff(other, { role: "admin" });
    expect((await (await signInStaff(otherAdmin.email, PASSWORD)).fetch(`/app/contacts/${contact.id}`)).status).toBe(404);

    // Once a later email to the contact is delivered, the notice goes away.
    expect((await browser.post(`/app/contacts/${contact.id}`, { intent: "send-link" })).status).toBe(200);
    await settle();
    await cronAt(provider.env, Date.now() + 1000);
    expect((await provider.log()).delivered.filter(to(contact.email))).toHaveLength(1);
    expect(await (await browser.fetch(`/app/contacts/${contact.id}`)).text()).not.toContain("The last email to this contact failed");
  });

  it("429 is retried, no sooner than the provider's Retry-After", async () => {
    const provider = fakeProvider();
    const { contacts } = await linksSent(1);
    const address = contacts[0].email;
    const start = Date.now() + 1000;
    await provider.fail([429], 600);
    await cronAt(provider.env, start);
    const [row] = await rowsTo([address]);
    expect(row.failedAt).toBeNull();
    expect(row.nextAttemptAt).toBe(start + 600_000);
    await cronAt(provider.env, start + 5 * 60_000);
    expect((await provider.log()).requests).toHaveLength(1);
    await cronAt(provider.env, start + 600_000);
    const log = await provider.log();
    expect(log.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(log.delivered.filter(to(address))).toHaveLength(1);
  });

  it(`a message that fails ${MAX_ATTEMPTS} times is given up, not retried forever`, async () => {
    const provider = fakeProvider();
    const { contacts } = await linksSent(1);
    const address = contacts[0].email;
    await provider.fail(Array.from({ length: MAX_ATTEMPTS + 5 }, () => 500));
    let now = Date.now() + 1000;
    for (let run = 0; run < MAX_ATTEMPTS + 3; run++) {
      await cronAt(provider.env, now);
      const [row] = await rowsTo([address]);
      now = Math.max(now, row.nextAttemptAt) + 1;
    }
    expect((await provider.log()).requests).toHaveLength(MAX_ATTEMPTS);
    const [row] = await rowsTo([address]);
    expect(row.attempts).toBe(MAX_ATTEMPTS);
    expect(row.failedAt).not.toBeNull();
    expect(row.sealedSecret).toBeNull();
  });

  it("the request: idempotency key, From and Reply-To per firm, text and HTML both with a working link and the firm's name", async () => {
    const provider = fakeProvider();
    const { firm, contacts } = await linksSent(1, { name: `Smith & "Jones" <Tax> ${uid()}` });
    await db.update(firms).set({ replyToEmail: "office@smith-jones.test" }).where(eq(firms.id, firm.id));
    const [contact] = contacts;
    const [row] = await rowsTo([contact.email]);
    await cronAt(provider.env, Date.now() + 1000);

    const { requests, delivered } = await provider.log();
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.idempotencyKey).toBe(row.id);
    expect(request.contentType).toBe("application/json");
    const [message] = delivered;
    expect(message.to).toEqual([contact.email]);
    const displayName = firm.name.replaceAll('"', "");
    expect(message.from).toBe(`"${displayName} via Client Portal" <portal@example.test>`);
    expect(message.reply_to).toEqual(["office@smith-jones.test"]);

    const token = linkTokenIn(message.text);
    const url = `http://portal.test/l/${token}`;
    expect(message.text).toContain(url);
    expect(message.text).toContain(firm.name);
    const html = message.html!;
    expect(html).toContain(`<a href="${url}">`);
    expect(html.match(new RegExp(url, "g")), "the link and its address, visible").toHaveLength(2);
    expect(html).toContain(firm.name.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;"));
    expect(html).not.toContain("<Tax>");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("{{secret_url}}");
    expect(message.text).not.toContain("{{secret_url}}");

    // D1 keeps nothing that opens it, and the link the recipient got works.
    expect(await placesHolding([token]), "after delivery").toEqual([]);
    expect((await claim(token)).response.status).toBe(302);
  });

  it("the idempotency key is the same on every attempt of a message, so a repeat after a lost result is not sent twice", async () => {
    const provider = fakeProvider();
    const firm: TestFirm = await createFirm();
    const address = `${uid("notice_")}@client.test`;
    await queueEmail(db, { firmId: firm.id, to: address, subject: "Notice", text: "Body", html: "<p>Body</p>" });
    await cronAt(provider.env, Date.now() + 1000);
    // The provider took it, but D1 lost the result (the run died before recording it): sent again.
    await db.update(outbox).set({ sentAt: null }).where(eq(outbox.toAddress, address));
    await cronAt(provider.env, Date.now() + 2000);
    const { requests, delivered } = await provider.log();
    const [row] = await rowsTo([address]);
    expect(requests.map((r) => r.idempotencyKey)).toEqual([row.id, row.id]);
    expect(delivered).toHaveLength(1);
  });

  it("the Cron Trigger's handler delivers with the configured provider", async () => {
    const provider = fakeProvider();
    const { contacts } = await linksSent(1);
    // The handler awaits its jobs (ADR 010), so the run is over when it returns.
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }), provider.env);
    expect((await provider.log()).delivered.filter(to(contacts[0].email))).toHaveLength(1);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, contacts[0].email)).orderBy(desc(outbox.createdAt));
    expect(row.sentAt).not.toBeNull();
  });

  it("without a provider configured (tests, or a worker not yet set up), mail stays queued", async () => {
    const { contacts } = await linksSent(1);
    await cronAt({ ...env, EMAIL_API_URL: undefined, EMAIL_API_KEY: undefined } as Env, Date.now() + 1000);
    const [row] = await rowsTo([contacts[0].email]);
    expect(row.sentAt).toBeNull();
    expect(row.attempts).toBe(0);
  });
});
