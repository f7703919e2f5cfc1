// The outbox: nothing is lost when the provider is down; delivery retries with backoff.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox } from "../../db/schema";
import { deliverOutbox, queueEmail, type EmailTransport } from "~/server/outbox.server";
import { db, uid } from "../support/factories";

/** A local fake provider: records what it is asked to send, and can be down. */
function fakeProvider(up: boolean): EmailTransport & { sent: string[] } {
  const sent: string[] = [];
  return {
    name: "fake",
    sent,
    async send(message) {
      if (!up) throw new Error("provider unavailable");
      sent.push(message.to);
    },
  };
}

describe("outbox delivery", () => {
  it("keeps a message when the provider is down, retries it later, and sends it once when it is back", async () => {
    const to = `${uid("mail_")}@client.test`;
    const now = Date.UTC(2030, 0, 1);
    await queueEmail(db, { firmId: null, to, subject: "Hello", text: "Body" }, now);

    const down = fakeProvider(false);
    const first = await deliverOutbox(db, env, down, now);
    expect(first.failed).toBeGreaterThanOrEqual(1);
    const [row] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(row.sentAt).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.lastError).toContain("provider unavailable");
    expect(row.nextAttemptAt).toBeGreaterThan(now);

    const up = fakeProvider(true);
    await deliverOutbox(db, env, up, now + 1); // not due yet: backoff holds it
    expect(up.sent).not.toContain(to);
    await deliverOutbox(db, env, up, row.nextAttemptAt, 1000);
    expect(up.sent.filter((t) => t === to)).toHaveLength(1);
    await deliverOutbox(db, env, up, row.nextAttemptAt + 60 * 60_000, 1000);
    expect(up.sent.filter((t) => t === to)).toHaveLength(1);
    const [after] = await db.select().from(outbox).where(eq(outbox.toAddress, to));
    expect(after.sentAt).not.toBeNull();
  });
});
