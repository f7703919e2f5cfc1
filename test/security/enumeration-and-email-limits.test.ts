// SECURITY.md rule 31 (no account enumeration) and the email-sending limits.
import { describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { accessLinks, auditEvents } from "../../db/schema";
import { callApi, createApiKey } from "../support/api";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { emailsTo, settle } from "../support/portal";
import { backgroundWorkTracked } from "~/worker/background-work";

function randomIp(): string {
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  return `10.${a}.${b}.7`;
}

/** Pages carry a per-response CSP nonce; everything else must be identical. */
function normalise(html: string): string {
  return html.replace(/nonce="[^"]*"/g, 'nonce=""');
}

const endpoints: Array<[string, (base: string, email: string) => [string, Record<string, string>]]> = [
  ["email me a link", (base, email) => [`${base}?index`, { intent: "email-link", email }]],
  ["email me a link (login page)", (base, email) => [`${base}/login`, { intent: "email-link", email }]],
  ["sign-up", (base, email) => [`${base}/signup`, { intent: "request", email }]],
  ["forgot password", (base, email) => [`${base}/forgot-password`, { intent: "request", email }]],
];

describe("rule 31: no account enumeration", () => {
  for (const [name, build] of endpoints) {
    it(`${name}: the same status and body for a known and an unknown address; the email goes out after the response`, async () => {
      const firm = await createFirm();
      const contact = await createContact(firm);
      await createPortalAccount(firm, contact);
      const base = `/portal/${firm.slug}`;
      const since = Date.now();
      const [path, knownForm] = build(base, contact.email);
      const stranger = `stranger-${crypto.randomUUID()}@unknown.test`;
      const [, unknownForm] = build(base, stranger);
      const known = await new Browser(randomIp()).post(path, knownForm);
      const tracked = backgroundWorkTracked();
      const unknown = await new Browser(randomIp()).post(path, unknownForm);
      expect(known.status).toBe(200);
      expect(unknown.status).toBe(known.status);
      expect(normalise(await unknown.text())).toBe(normalise(await known.text()));
      // The unknown address is looked up after the response too (same timing), and settle() waits for
      // that work to finish: only then does "no email" mean none was sent.
      expect(backgroundWorkTracked()).toBeGreaterThan(tracked);
      await settle();
      expect(await emailsTo(contact.email, since)).toHaveLength(1);
      expect(await emailsTo(stranger, since)).toHaveLength(0);
    });
  }
});

describe("email-sending endpoints: 3 per 10 minutes per address and per IP", () => {
  it("the 4th request for one address is refused, from any IP", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const base = `/portal/${firm.slug}`;
    for (let i = 0; i < 3; i++) {
      expect((await new Browser(`192.0.2.${10 + i}`).post(`${base}?index`, { intent: "email-link", email: contact.email })).status).toBe(200);
    }
    const fourth = await new Browser("192.0.2.50").post(`${base}?index`, { intent: "email-link", email: contact.email });
    expect(fourth.status).toBe(429);
    expect(await fourth.text()).toContain("Too many emails");
    // emailsTo reads after every request's after-response work has finished.
    expect(await emailsTo(contact.email, 0)).toHaveLength(3);
  });

  it("the 4th request from one IP is refused, whatever the address, and X-Forwarded-For does not help", async () => {
    const firm = await createFirm();
    const base = `/portal/${firm.slug}`;
    const ip = "203.0.113.200";
    for (let i = 0; i < 3; i++) {
      expect((await new Browser(ip).post(`${base}/forgot-password`, { intent: "request", email: `a${i}@x.test` })).status).toBe(200);
    }
    const fourth = await new Browser(ip).post(`${base}/forgot-password`, { intent: "request", email: "a9@x.test" }, { "x-forwarded-for": "10.1.1.1" });
    expect(fourth.status).toBe(429);
  });

  it("staff sends from the contact's page count too, with the API's: the 4th email to one address is refused and sends nothing", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const staff = await createStaff(firm, { role: "member" });
    const browser = await signInStaff(staff.email, PASSWORD);
    const key = await createApiKey(firm, "read_write");
    const page = `/app/contacts/${contact.id}`;
    const portalLink = `/contacts/${contact.id}/portal-link`;
    expect((await browser.post(page, { intent: "send-invite" })).status).toBe(200);
    expect((await callApi(key, "POST", portalLink, { body: { kind: "link" } })).status).toBe(202);
    expect((await browser.post(page, { intent: "send-link" })).status).toBe(200);
    for (const intent of ["send-link", "send-invite"]) {
      const refused = await browser.post(page, { intent });
      expect(refused.status).toBe(429);
      expect(await refused.text()).toContain(`${contact.email} was emailed 3 times in the last 10 minutes. Try again in`);
    }
    expect((await callApi(key, "POST", portalLink, { body: { kind: "invite" } })).status).toBe(429);
    // A refused send makes no link, records no send and mails nothing.
    expect(await db.select().from(accessLinks).where(eq(accessLinks.contactId, contact.id))).toHaveLength(3);
    expect(await db.select().from(auditEvents).where(and(eq(auditEvents.contactId, contact.id), eq(auditEvents.type, "access_link.sent")))).toHaveLength(3);
    expect(await emailsTo(contact.email, 0)).toHaveLength(3);
  });
});
