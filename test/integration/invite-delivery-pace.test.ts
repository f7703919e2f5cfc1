// Issue 13 / ADR 018: a bulk invite of thousands goes out within minutes, not hours. The outbox sends
// due mail in batches of 100 per provider request (Resend's /emails/batch), paced to the provider's
// rate limit, up to CRON_SWEEP_MESSAGES per cron sweep; every guarantee of ADR 008 and 014 holds: links
// rendered only at delivery, lease-claimed rows, each message delivered exactly once (a batch whose
// answer was lost is retried whole, with the same idempotency key), retries with backoff, permanent
// failure visible. Against the local fake provider (vitest.config.ts), in workerd.
import { env } from "cloudflare:workers";
import { and, eq, isNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, contacts, outbox } from "../../db/schema";
import { CRON_SWEEP_MESSAGES, deliverOutbox, DELIVER_SOON_MESSAGES } from "~/server/outbox-delivery.server";
import { RESEND_BATCH_MAX, RESEND_MIN_INTERVAL_MS, resendTransport } from "~/server/email-provider.server";
import { DELIVERY_LEASE_MS, queueEmail, sealEmail, SECRET_URL_PLACEHOLDER } from "~/server/outbox.server";
import { runScheduledJobs } from "~/server/scheduled.server";
import { runBatch } from "~/server/db.server";
import { createFirm, createStaff, db, PASSWORD, uid, type TestFirm } from "../support/factories";
import { signInStaff } from "../support/http";

const PROVIDER = "https://email-provider.test";
const MINUTE = 60_000;
const CRON_EVERY = 5 * MINUTE;

type FakeBody = { from: string; to: string[]; subject: string; text: string; html?: string };
type FakeRequest = { path: string; idempotencyKey: string | null; body: FakeBody | FakeBody[] | null; status: number; at: number };
type FakeDelivery = FakeBody & { id: string; idempotencyKey: string | null; batch: boolean };

function fakeProvider() {
  const key = `re_test_${uid()}`;
  return {
    env: { ...env, EMAIL_API_URL: PROVIDER, EMAIL_API_KEY: key } as Env,
    async script(statuses: Array<number | "lost">) {
      expect((await fetch(`${PROVIDER}/__fake/script`, { method: "POST", body: JSON.stringify({ key, statuses }) })).status).toBe(200);
    },
    async log(): Promise<{ requests: FakeRequest[]; delivered: FakeDelivery[] }> {
      return (await fetch(`${PROVIDER}/__fake/log?key=${encodeURIComponent(key)}`)).json();
    },
  };
}

async function manyContacts(firm: TestFirm, n: number) {
  const rows = Array.from({ length: n }, (_, i) => ({ id: uid("c_"), firmId: firm.id, name: `Client ${i}`, email: `${uid()}@pace.test` }));
  for (let i = 0; i < rows.length; i += 20) await db.insert(contacts).values(rows.slice(i, i + 20));
  return rows;
}

/** Sealed messages with a link each, queued as the app queues them. */
async function queueSealed(firm: TestFirm, addresses: string[], now: number) {
  const messages = await Promise.all(
    addresses.map((to) =>
      sealEmail(env, { firmId: firm.id, to, subject: "Your link", text: `Open ${SECRET_URL_PLACEHOLDER}`, secretUrl: `https://portal.test/l/${uid()}` }, now),
    ),
  );
  for (let i = 0; i < messages.length; i += 50) await runBatch(db, messages.slice(i, i + 50).map((m) => queueEmail(db, m, now)));
}

function expectEachOnce(delivered: FakeDelivery[], addresses: string[]) {
  const count = new Map<string, number>();
  for (const d of delivered) for (const to of d.to) count.set(to, (count.get(to) ?? 0) + 1);
  const wrong = addresses.filter((a) => count.get(a) !== 1).map((a) => `${a}: ${count.get(a) ?? 0}`);
  expect(wrong, "every address exactly once").toEqual([]);
  expect(delivered.filter((d) => addresses.some((a) => d.to.includes(a)))).toHaveLength(addresses.length);
}

describe("invite delivery pace", () => {
  it("a bulk invite of 250 leaves in one sweep: 3 batch requests, paced to the provider's rate limit, each invite once with its link", async () => {
    const provider = fakeProvider();
    const firm = await createFirm();
    const staff = await createStaff(firm, { role: "admin" });
    const people = await manyContacts(firm, 250);
    const browser = await signInStaff(staff.email, PASSWORD);
    const sent = await browser.fetch("/app/contacts/invite", {
      method: "POST",
      body: new URLSearchParams([["intent", "send"], ["scope", "without_account"]]).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect([302, 303]).toContain(sent.status);

    // One cron sweep: the invite run's rest is queued, then everything due is delivered.
    await runScheduledJobs(provider.env, db, Date.now() + 1000);
    const { requests, delivered } = await provider.log();
    const addresses = people.map((p) => p.email);
    expectEachOnce(delivered, addresses);
    expect(requests.map((r) => r.path)).toEqual(["/emails/batch", "/emails/batch", "/emails/batch"]);
    expect(requests.map((r) => (r.body as FakeBody[]).length).sort()).toEqual([100, 100, 50].sort());
    for (let i = 1; i < requests.length; i++) {
      expect(requests[i].at - requests[i - 1].at, "requests spaced to the provider's rate limit").toBeGreaterThanOrEqual(RESEND_MIN_INTERVAL_MS - 20);
    }
    // Each invite carries its own live link, filled in only now; the rows keep no link.
    const links = delivered.map((d) => /\/l\/[A-Za-z0-9_-]{20,}/.exec(d.text)?.[0]);
    expect(new Set(links).size).toBe(250);
    expect(delivered.every((d) => !d.text.includes(SECRET_URL_PLACEHOLDER))).toBe(true);
    const rows = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
    expect(rows).toHaveLength(250);
    expect(rows.every((r) => r.sentAt !== null && r.sealedSecret === null && r.attempts === 1 && r.claimedBy === null)).toBe(true);
  });

  it("the provider fails mid-way (an answer lost after sending, then a 503): nothing lost, nothing twice", async () => {
    const provider = fakeProvider();
    const firm = await createFirm();
    const addresses = Array.from({ length: 350 }, () => `${uid()}@pace.test`);
    const start = Date.now() + 1000;
    await queueSealed(firm, addresses, start);
    // Batch 1 is accepted; batch 2 is sent but its answer is lost (504); then, on the next sweep, the
    // lost batch is repeated and batch 3 meets a 503.
    await provider.script([200, "lost", 200, 503]);

    const sweeps: number[] = [];
    for (let sweep = 0; sweep < 6; sweep++) {
      await runScheduledJobs(provider.env, db, start + sweep * CRON_EVERY);
      const rows = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
      sweeps.push(rows.filter((r) => r.sentAt !== null).length);
      if (rows.every((r) => r.sentAt !== null)) break;
    }
    const { requests, delivered } = await provider.log();
    expectEachOnce(delivered, addresses);
    // The lost batch was sent again whole, with the same key, and the provider dropped the repeat.
    const lost = requests.find((r) => r.status === 504)!;
    const repeats = requests.filter((r) => r.idempotencyKey === lost.idempotencyKey);
    expect(repeats.map((r) => r.status)).toEqual([504, 200]);
    expect(repeats[1].body).toEqual(lost.body);
    // Sweep 1 sends batch 1 and stops at the lost answer; sweep 2 repeats it, then stops at the 503
    // (backoff 1 minute); sweep 3 sends the rest.
    expect(sweeps).toEqual([100, 200, 350]);
    const rows = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
    expect(rows.every((r) => r.failedAt === null && r.sealedSecret === null && r.claimedBy === null)).toBe(true);
  });

  it("a batch refused whole for one bad address is split: that message fails alone, visible in the audit log; the rest go once", async () => {
    const provider = fakeProvider();
    const firm = await createFirm();
    const good = Array.from({ length: 4 }, () => `${uid()}@pace.test`);
    const bad = `${uid()}-no-at-sign.pace.test`;
    const now = Date.now() + 1000;
    // Due one after another (rows due at the same time go in random id order), so the split group is sent
    // in this order and the bad message has good ones after it: its refusal must not stop the run.
    const order = [...good.slice(0, 2), bad, ...good.slice(2)];
    for (const [i, to] of order.entries()) await queueSealed(firm, [to], now - order.length + 1 + i);
    const report = await deliverOutbox(db, provider.env, resendTransport({ baseUrl: PROVIDER, apiKey: (provider.env as Env & { EMAIL_API_KEY: string }).EMAIL_API_KEY }), now, 100);
    expect(report).toMatchObject({ sent: 4, gaveUp: 1, failed: 0 });
    const { requests, delivered } = await provider.log();
    expectEachOnce(delivered, good);
    expect(requests[0]).toMatchObject({ path: "/emails/batch", status: 422 });
    // Then each message alone, in the order due; only the bad one is refused.
    const single = (r: FakeRequest) => (r.body as FakeBody).to[0];
    expect(requests.slice(1).map((r) => [r.path, single(r), r.status])).toEqual([
      ["/emails", good[0], 200],
      ["/emails", good[1], 200],
      ["/emails", bad, 422],
      ["/emails", good[2], 200],
      ["/emails", good[3], 200],
    ]);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, bad));
    expect(row.failedAt).not.toBeNull();
    expect(row.sealedSecret).toBeNull();
    // Nothing is left for a later run: every message is settled in this one, none still claimed.
    const rows = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
    expect(rows.filter((r) => r.sentAt !== null).map((r) => r.toAddress).sort()).toEqual([...good].sort());
    expect(rows.every((r) => (r.sentAt !== null) !== (r.failedAt !== null) && r.claimedBy === null && r.claimedUntil === null)).toBe(true);
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "email.failed")));
    expect(events.map((e) => JSON.parse(e.detail!).to)).toEqual([bad]);
  });

  it("a run that dies after sending a batch: the group is claimed again whole after its lease and not sent twice", async () => {
    const provider = fakeProvider();
    const firm = await createFirm();
    const addresses = Array.from({ length: 30 }, () => `${uid()}@pace.test`);
    const now = Date.now() + 1000;
    // deliverOutbox is not firm-scoped: a row an earlier test left due would be swept by these runs and
    // counted among this provider's requests. The earlier tests settle all of theirs; say so here.
    expect(await db.select({ to: outbox.toAddress }).from(outbox).where(and(isNull(outbox.sentAt), isNull(outbox.failedAt)))).toEqual([]);
    await queueSealed(firm, addresses, now);
    // The provider takes the batch but the run never hears back (and never records anything).
    await provider.script(["lost"]);
    const transport = resendTransport({ baseUrl: PROVIDER, apiKey: (provider.env as Env & { EMAIL_API_KEY: string }).EMAIL_API_KEY });
    const dying = { ...transport, batch: { ...transport.batch!, send: (m: Parameters<typeof transport.send>[0][], k: string) => transport.batch!.send(m, k).catch(() => new Promise<void>(() => {})) } };
    void deliverOutbox(db, provider.env, dying, now, 100);
    await expect.poll(async () => (await provider.log()).requests.length).toBe(1);
    // While its lease runs nobody sends the group; after it, the next run sends it once more, same key.
    await deliverOutbox(db, provider.env, transport, now + DELIVERY_LEASE_MS - 1, 100);
    expect((await provider.log()).requests).toHaveLength(1);
    await deliverOutbox(db, provider.env, transport, now + DELIVERY_LEASE_MS, 100);
    const { requests, delivered } = await provider.log();
    expect(requests.map((r) => r.status)).toEqual([504, 200]);
    expect(requests[1].idempotencyKey).toBe(requests[0].idempotencyKey);
    expect(requests[1].body).toEqual(requests[0].body);
    expectEachOnce(delivered, addresses);
    const rows = await db.select().from(outbox).where(eq(outbox.firmId, firm.id));
    expect(rows.every((r) => r.sentAt !== null && r.failedAt === null && r.claimedBy === null)).toBe(true);
  });

  it("10,000 invites: two sweeps, inside a paid invocation's limits and the provider's default rate", () => {
    const sweeps = Math.ceil(10_000 / CRON_SWEEP_MESSAGES);
    const requestsPerSweep = Math.ceil(CRON_SWEEP_MESSAGES / RESEND_BATCH_MAX);
    // Queued just after a sweep, the last leaves `sweeps` cron intervals later: within 15 minutes.
    expect(sweeps * CRON_EVERY).toBeLessThanOrEqual(15 * MINUTE);
    // One subrequest per batch, about three D1 queries per batch (claim, firms, mark sent): far under 1,000.
    expect(requestsPerSweep).toBeLessThanOrEqual(100);
    // Paced at 2 requests a second, a sweep's sending takes under a minute (a cron may run 15).
    expect(requestsPerSweep * RESEND_MIN_INTERVAL_MS).toBeLessThanOrEqual(60_000);
    // A request's waitUntil (30 s after the response) sends two batches.
    expect(Math.ceil(DELIVER_SOON_MESSAGES / RESEND_BATCH_MAX) * RESEND_MIN_INTERVAL_MS).toBeLessThan(30_000);
  });
});
