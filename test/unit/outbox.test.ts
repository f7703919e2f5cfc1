// The outbox: nothing is lost when the provider is down; delivery retries with backoff; overlapping runs
// send each message once; links are sealed at rest and rendered only at delivery (docs/decisions/008).
import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox } from "../../db/schema";
import { DELIVERY_LEASE_MS, OUTBOX_RETENTION_MS, queueEmail, SECRET_URL_PLACEHOLDER, sealEmail, type EmailTransport, type OutgoingEmail } from "~/server/outbox.server";
import { deliverOutbox, devOutboxTransport, purgeOutbox } from "~/server/outbox-delivery.server";
import { escapeHtml, fillSecretUrl, fromAddressFor, renderOutboxMessage } from "~/server/outbox-render.server";
import { runBatch } from "~/server/db.server";
import {
  accessLinkEmail,
  accountExistsEmail,
  passwordResetEmail,
  requestCompletedEmail,
  securityNoticeEmail,
  verifyEmailEmail,
} from "~/server/emails.server";
import { EmailDeliveryError, isPermanentStatus } from "~/server/email-provider.server";
import { createFirm, db, uid } from "../support/factories";

/** A local fake provider: records what it is asked to send, can be down, and can be slow. */
function fakeProvider(options: { up?: boolean; slowMs?: number } = {}): EmailTransport & { sent: OutgoingEmail[] } {
  const sent: OutgoingEmail[] = [];
  return {
    name: "fake",
    sent,
    async send(message) {
      // A slow provider keeps a run busy while another run starts: the window a double send needs.
      if (options.slowMs) await new Promise((resolve) => setTimeout(resolve, options.slowMs));
      if (options.up === false) throw new Error("provider unavailable");
      sent.push(message);
    },
  };
}

async function queueMany(count: number, now: number): Promise<string[]> {
  const addresses = Array.from({ length: count }, () => `${uid("mail_")}@client.test`);
  await runBatch(db, addresses.map((to) => queueEmail(db, { firmId: null, to, subject: "Hello", text: "Body" }, now)));
  return addresses;
}

function timesSent(provider: { sent: OutgoingEmail[] }, to: string): number {
  return provider.sent.filter((m) => m.to === to).length;
}

async function rowsTo(addresses: string[]) {
  return db.select().from(outbox).where(inArray(outbox.toAddress, addresses));
}

describe("outbox delivery", () => {
  it("keeps a message when the provider is down, retries it later, and sends it once when it is back", async () => {
    const to = `${uid("mail_")}@client.test`;
    const now = Date.UTC(2030, 0, 1);
    await queueEmail(db, { firmId: null, to, subject: "Hello", text: "Body" }, now);

    const down = fakeProvider({ up: false });
    const first = await deliverOutbox(db, env, down, now);
    expect(first.failed).toBeGreaterThanOrEqual(1);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(row.sentAt).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.lastError).toContain("provider unavailable");
    expect(row.nextAttemptAt).toBeGreaterThan(now);
    expect(row.claimedUntil).toBeNull(); // a failed attempt hands the row back

    const up = fakeProvider();
    await deliverOutbox(db, env, up, now + 1); // not due yet: backoff holds it
    expect(timesSent(up, to)).toBe(0);
    await deliverOutbox(db, env, up, row.nextAttemptAt, 1000);
    expect(timesSent(up, to)).toBe(1);
    await deliverOutbox(db, env, up, row.nextAttemptAt + 60 * 60_000, 1000);
    expect(timesSent(up, to)).toBe(1);
    const [after] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(after.sentAt).not.toBeNull();
    expect(after.claimedUntil).toBeNull();
  });
});

describe("overlapping delivery runs send each message exactly once", () => {
  it("two runs in parallel with a slow provider", async () => {
    const now = Date.UTC(2031, 0, 1);
    const addresses = await queueMany(8, now);
    const provider = fakeProvider({ slowMs: 15 });
    const [a, b] = await Promise.all([deliverOutbox(db, env, provider, now, 1000), deliverOutbox(db, env, provider, now, 1000)]);
    for (const to of addresses) expect(timesSent(provider, to), to).toBe(1);
    expect(a.sent + b.sent).toBeGreaterThanOrEqual(addresses.length);
    for (const row of await rowsTo(addresses)) {
      expect(row.sentAt).not.toBeNull();
      expect(row.attempts).toBe(1);
    }
  });

  it("five runs in parallel with small batches, then more runs until nothing is due: each message once, none lost", async () => {
    const now = Date.UTC(2032, 0, 1);
    const addresses = await queueMany(20, now);
    const provider = fakeProvider({ slowMs: 3 });
    await Promise.all(Array.from({ length: 5 }, () => deliverOutbox(db, env, provider, now, 3)));
    for (let round = 0; round < 20; round++) {
      const report = await deliverOutbox(db, env, provider, now, 1000);
      if (report.sent === 0 && report.failed === 0) break;
    }
    for (const to of addresses) expect(timesSent(provider, to), to).toBe(1);
    expect((await rowsTo(addresses)).every((row) => row.sentAt !== null)).toBe(true);
  });

  it("provider down for two parallel runs (one attempt each message), then up: delivered once", async () => {
    const now = Date.UTC(2033, 0, 1);
    const addresses = await queueMany(5, now);
    const down = fakeProvider({ up: false, slowMs: 10 });
    await Promise.all([deliverOutbox(db, env, down, now, 1000), deliverOutbox(db, env, down, now, 1000)]);
    for (const row of await rowsTo(addresses)) {
      expect(row.sentAt).toBeNull();
      expect(row.attempts, "each message was tried by one run only").toBe(1);
    }
    const later = now + 60 * 60_000;
    const up = fakeProvider({ slowMs: 10 });
    await Promise.all([deliverOutbox(db, env, up, later, 1000), deliverOutbox(db, env, up, later, 1000)]);
    for (const to of addresses) expect(timesSent(up, to), to).toBe(1);
  });

  it("a run that crashed holding rows: nobody sends them while its lease runs, the next run after it does, once", async () => {
    const now = Date.UTC(2034, 0, 1);
    const addresses = await queueMany(3, now);
    await db.update(outbox).set({ claimedUntil: now + DELIVERY_LEASE_MS, claimedBy: "crashed-run" }).where(inArray(outbox.toAddress, addresses));
    const provider = fakeProvider();
    await deliverOutbox(db, env, provider, now + DELIVERY_LEASE_MS - 1, 1000);
    for (const to of addresses) expect(timesSent(provider, to)).toBe(0);
    await Promise.all([
      deliverOutbox(db, env, provider, now + DELIVERY_LEASE_MS, 1000),
      deliverOutbox(db, env, provider, now + DELIVERY_LEASE_MS, 1000),
    ]);
    for (const to of addresses) expect(timesSent(provider, to)).toBe(1);
  });
});

describe("links are sealed at rest and rendered at delivery", () => {
  const firm = { id: "firm_sealed", name: "Sealed & Co" };

  async function queueReset(now: number) {
    const to = `${uid("reset_")}@client.test`;
    const url = `http://portal.test/portal/sealed/forgot-password?token=${uid("tok")}`;
    const sealed = await sealEmail(env, passwordResetEmail({ firm, contact: { name: "Ada Client", email: to }, url }), now);
    await queueEmail(db, sealed);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    return { to, url, row };
  }

  it("the stored body holds a placeholder and a ciphertext; delivery sends the link and erases it", async () => {
    const now = Date.UTC(2035, 0, 1);
    const { to, url, row } = await queueReset(now);
    expect(row.textBody).toContain(SECRET_URL_PLACEHOLDER);
    expect(JSON.stringify(row)).not.toContain(url);
    expect(row.sealedSecret).toMatch(/^k0:[A-Za-z0-9+/]+=*$/);

    const provider = fakeProvider();
    await deliverOutbox(db, env, provider, now, 1000);
    const [sent] = provider.sent.filter((m) => m.to === to);
    expect(sent.text).toContain(url);
    expect(sent.text).not.toContain(SECRET_URL_PLACEHOLDER);
    expect(sent.id).toBe(row.id);
    const [after] = await db.select().from(outbox).where(eq(outbox.id, row.id));
    expect(after.sealedSecret).toBeNull();
    expect(JSON.stringify(after)).not.toContain(url);
    expect((await renderOutboxMessage(env, after, "(gone)")).text).toContain("(gone)");
    await expect(renderOutboxMessage(env, after)).rejects.toThrow();
  });

  it("a sealed link copied onto another message does not open", async () => {
    const now = Date.UTC(2035, 0, 2);
    const first = await queueReset(now);
    const second = await queueReset(now);
    await db.update(outbox).set({ sealedSecret: first.row.sealedSecret }).where(eq(outbox.id, second.row.id));
    const [moved] = await db.select().from(outbox).where(eq(outbox.id, second.row.id));
    await expect(renderOutboxMessage(env, moved)).rejects.toThrow();
    expect((await renderOutboxMessage(env, first.row)).text).toContain(first.url);
  });

  it("a message that cannot be opened is not sent with a broken link: it fails and stays queued", async () => {
    const now = Date.UTC(2035, 0, 3);
    const { to, row } = await queueReset(now);
    await db.update(outbox).set({ sealedSecret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }).where(eq(outbox.id, row.id));
    const provider = fakeProvider();
    await deliverOutbox(db, env, provider, now, 1000);
    expect(timesSent(provider, to)).toBe(0);
    const [after] = await db.select().from(outbox).where(eq(outbox.id, row.id));
    expect(after.sentAt).toBeNull();
    expect(after.lastError).toContain("cannot be opened");
  });

  it("development's outbox is the mailbox: a delivered message keeps its link sealed for /dev/outbox", async () => {
    const now = Date.UTC(2035, 0, 4);
    const { url, row } = await queueReset(now);
    await deliverOutbox(db, env, devOutboxTransport, now, 1000);
    const [after] = await db.select().from(outbox).where(eq(outbox.id, row.id));
    expect(after.sentAt).not.toBeNull();
    expect(JSON.stringify(after)).not.toContain(url);
    expect((await renderOutboxMessage(env, after)).text).toContain(url);
  });
});

describe("retention", () => {
  it("the cron deletes messages delivered more than 30 days ago and those never delivered in 30 days, and keeps the rest", async () => {
    const now = Date.UTC(2036, 0, 1);
    const day = 24 * 60 * 60_000;
    const [oldSent, recentSent, oldPending, recentPending] = await queueMany(4, now - 40 * day);
    await db.update(outbox).set({ sentAt: now - OUTBOX_RETENTION_MS - 1 }).where(eq(outbox.toAddress, oldSent));
    await db.update(outbox).set({ sentAt: now - 2 * day }).where(eq(outbox.toAddress, recentSent));
    await db.update(outbox).set({ createdAt: now - day }).where(eq(outbox.toAddress, recentPending));
    await purgeOutbox(db, now);
    const left = (await rowsTo([oldSent, recentSent, oldPending, recentPending])).map((row) => row.toAddress);
    expect(left.sort()).toEqual([recentSent, recentPending].sort());
  });
});

describe("HTML and text bodies", () => {
  const firm = { id: "firm_bodies", name: 'Lee & <Sons> "Tax"' };
  const contact = { name: "Ada Client", email: "ada@client.test" };
  const url = "http://portal.test/portal/x/forgot-password?token=abc&next=%22/x%22";
  const builders = [
    accessLinkEmail({ firm, contact, url, purpose: "invite", requestTitle: "Year <end>" }),
    accessLinkEmail({ firm, contact, url, purpose: "self_service", requestTitle: null }),
    verifyEmailEmail({ firm, contact, url }),
    accountExistsEmail({ firm, contact, resetUrl: url }),
    passwordResetEmail({ firm, contact, url }),
    securityNoticeEmail({ firm, to: contact.email, name: contact.name, subject: "a <notice>", body: ["Something & something."] }),
    requestCompletedEmail({ firm, to: { name: "Sam", email: "sam@firm.test" }, contact, requestTitle: "Docs <2026>", url }),
  ];

  it("every email has both bodies, each with the firm's name and the link (escaped in HTML), and no markup from data", () => {
    for (const message of builders) {
      const link = message.secretUrl ?? url;
      if (message.subject.endsWith("a <notice>")) {
        // The one notice without a link.
        expect(message.text).toContain(firm.name);
        expect(message.html).toContain(escapeHtml(firm.name));
        expect(message.html).not.toContain("<notice>");
        continue;
      }
      const text = fillSecretUrl(message.text, link);
      const html = fillSecretUrl(message.html!, link, escapeHtml);
      expect(text, message.subject).toContain(firm.name);
      expect(text).toContain(link);
      expect(html).toContain(escapeHtml(firm.name));
      expect(html).not.toContain("<Sons>");
      expect(html).not.toMatch(/<(?!\/?(?:p|a|br|hr|html|head|meta|title|body)\b|!doctype)/i);
      expect(html).toContain(`<a href="${escapeHtml(link)}">`);
      expect(html).not.toContain(link); // only its escaped form: the raw one has & and "
      expect(html).not.toContain("<img");
      if (message.secretUrl) expect(message.html).toContain(SECRET_URL_PLACEHOLDER);
    }
  });

  it("delivery renders the link into both bodies, escaped in the HTML", async () => {
    const now = Date.UTC(2037, 0, 1);
    const to = `${uid("html_")}@client.test`;
    const stored = await createFirm({ name: firm.name });
    const sealed = await sealEmail(env, passwordResetEmail({ firm: stored, contact: { name: "Ada", email: to }, url }), now);
    await queueEmail(db, sealed);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(row.htmlBody).toContain(SECRET_URL_PLACEHOLDER);
    expect(JSON.stringify(row)).not.toContain("token=abc");
    const provider = fakeProvider();
    await deliverOutbox(db, env, provider, now, 1000);
    const [sent] = provider.sent.filter((m) => m.to === to);
    expect(sent.text).toContain(url);
    expect(sent.html).toContain(`href="${url.replaceAll("&", "&amp;").replaceAll('"', "&quot;")}"`);
    expect(sent.from).toBe(`"Lee & <Sons> Tax via Client Portal" <portal@example.test>`);
  });
});

describe("From per firm", () => {
  it("the firm's name in a quoted display name, the address from EMAIL_FROM; nothing in a name can change the address", () => {
    expect(fromAddressFor("Harbor & Co", "Client Portal <portal@mail.example.com>")).toBe('"Harbor & Co via Client Portal" <portal@mail.example.com>');
    expect(fromAddressFor(null, "Client Portal <portal@mail.example.com>")).toBe("Client Portal <portal@mail.example.com>");
    expect(fromAddressFor("A", "portal@mail.example.com")).toBe('"A via Client Portal" <portal@mail.example.com>');
    for (const name of ['Evil" <attacker@evil.test>, "x', "Line\r\nBcc: a@evil.test", "Back\\slash", "<x@evil.test>"]) {
      const from = fromAddressFor(name, "Client Portal <portal@mail.example.com>");
      expect(from, name).toMatch(/^"[^"\\\r\n]*" <portal@mail\.example\.com>$/);
    }
  });
});

describe("which provider answers are final", () => {
  it("a 4xx about the message is permanent; 5xx, 429 and account-level answers are retried", () => {
    for (const status of [400, 404, 413, 422]) expect(isPermanentStatus(status), String(status)).toBe(true);
    for (const status of [401, 403, 408, 409, 429, 500, 502, 503]) expect(isPermanentStatus(status), String(status)).toBe(false);
  });
});

describe("permanent failures", () => {
  it("a message the provider refuses is given up alone: the run goes on with the messages after it", async () => {
    const now = Date.UTC(2037, 0, 1);
    const [before, refused, after] = [uid("ok_"), uid("refused_"), uid("ok_")].map((name) => `${name}@client.test`);
    // Due one after another, so the refused one is sent second, with one message still after it.
    for (const [i, to] of [before, refused, after].entries()) await queueEmail(db, { firmId: null, to, subject: "Hello", text: "Body" }, now + i);
    const sent: string[] = [];
    const refusing: EmailTransport = {
      name: "refusing",
      async send(message) {
        if (message.to === refused) throw new EmailDeliveryError("Email provider answered 422", true);
        sent.push(message.to);
      },
    };
    const report = await deliverOutbox(db, env, refusing, now + 2, 1000);
    expect(report).toMatchObject({ gaveUp: 1, failed: 0 });
    expect(sent.filter((to) => to === before || to === after).sort()).toEqual([before, after].sort());
    const rows = await rowsTo([before, refused, after]);
    expect(rows.find((r) => r.toAddress === refused)).toMatchObject({ sentAt: null, attempts: 1, claimedBy: null });
    expect(rows.find((r) => r.toAddress === refused)!.failedAt).not.toBeNull();
    expect(rows.filter((r) => r.toAddress !== refused).every((r) => r.sentAt !== null && r.claimedUntil === null)).toBe(true);
  });

  it("a message that cannot be opened fails each run but does not stop the others; after the attempt limit it is given up", async () => {
    const now = Date.UTC(2038, 0, 1);
    const to = `${uid("broken_")}@client.test`;
    const sealed = await sealEmail(env, passwordResetEmail({ firm: { id: "firm_x", name: "X" }, contact: { name: "A", email: to }, url: "http://portal.test/x" }), now);
    await queueEmail(db, sealed);
    await db.update(outbox).set({ sealedSecret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }).where(eq(outbox.toAddress, to));
    const provider = fakeProvider();
    let at = now;
    for (let run = 0; run < 12; run++) {
      await deliverOutbox(db, env, provider, at, 1000);
      const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
      at = Math.max(at, row.nextAttemptAt) + 1;
    }
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(timesSent(provider, to)).toBe(0);
    expect(row.failedAt).not.toBeNull();
    expect(row.attempts).toBe(8);
    expect(row.sealedSecret).toBeNull();
  });
});
