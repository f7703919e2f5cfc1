// Safe by default (issue 12, ADR 010): the worker refuses to serve until its settings are complete,
// and development behaviour (the dev outbox) needs ENVIRONMENT=development and a loopback address.
// Requests go through the worker's real entry (its default export) with a crafted env, because the
// pool's own bindings are the test ones; everything else (D1, KV, R2) is the pool's.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../app/worker";
import { outbox, requests } from "../../db/schema";
import { createContact, createFirm, db } from "../support/factories";
import { issueLink } from "../support/portal";
import { createRequest, DAY, isoDay } from "../support/requests";

const PUBLIC_ORIGIN = "https://portal.example.com";
/** A complete production configuration: what an operator following docs/deploy.md ends up with. */
const CONFIGURED: Partial<Env> = {
  ENVIRONMENT: "production",
  APP_URL: PUBLIC_ORIGIN,
  EMAIL_FROM: "Client Portal <portal@example.com>",
  EMAIL_API_URL: "https://email-provider.invalid/send",
  EMAIL_API_KEY: "provider-key-0123456789-secret",
  TOTP_ENCRYPTION_KEY: "cHJvZHVjdGlvbi10b3RwLWtleS0wMDAwMDAwMDAwMDA=",
  RECOVERY_CODE_KEY: "cHJvZHVjdGlvbi1yZWNvdmVyeS1rZXktMDAwMDAwMDA=",
};
const SECRET_VALUES = [CONFIGURED.EMAIL_API_KEY!, CONFIGURED.TOTP_ENCRYPTION_KEY!, CONFIGURED.RECOVERY_CODE_KEY!];

function envWith(overrides: Partial<Record<keyof Env, string | undefined>>): Env {
  const result = { ...env, ...CONFIGURED } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return result as unknown as Env;
}

async function send(target: Env, url: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const headers = new Headers(init.headers);
  headers.set("host", new URL(url).host);
  headers.set("cf-connecting-ip", "203.0.113.50");
  if (init.method === "POST") {
    headers.set("origin", new URL(url).origin);
    headers.set("sec-fetch-site", "same-origin");
    headers.set("content-type", "application/x-www-form-urlencoded");
  }
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(url, { ...init, headers, redirect: "manual" }), target, ctx);
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, body, headers: response.headers };
}

/** Every kind of route: edge, pages, portal, links, API, dev, and the writes that email. */
async function everyRoute(): Promise<Array<{ path: string; init?: RequestInit }>> {
  const firm = await createFirm();
  const contact = await createContact(firm);
  const token = await issueLink(firm, contact);
  return [
    { path: "/healthz" },
    { path: "/" },
    { path: "/login" },
    { path: "/app" },
    { path: "/app/contacts" },
    { path: `/portal/${firm.slug}` },
    { path: `/portal/${firm.slug}/login` },
    { path: `/l/${token}` },
    { path: "/dev/outbox" },
    { path: "/api/v1/contacts" },
    { path: "/no-such-page" },
    { path: "/login", init: { method: "POST", body: new URLSearchParams({ email: "a@b.test", password: "x" }).toString() } },
    { path: `/portal/${firm.slug}/forgot-password`, init: { method: "POST", body: new URLSearchParams({ email: contact.email }).toString() } },
    { path: `/l/${token}`, init: { method: "POST", body: "" } },
  ];
}

async function outboxCount(): Promise<number> {
  return (await db.select({ id: outbox.id }).from(outbox)).length;
}

describe("a deployed worker without its settings refuses to serve", () => {
  const missing: Array<[string, Partial<Record<keyof Env, string | undefined>>, string[]]> = [
    ["no secrets at all (a fresh `wrangler deploy`)", { TOTP_ENCRYPTION_KEY: undefined, RECOVERY_CODE_KEY: undefined, EMAIL_API_KEY: undefined }, ["TOTP_ENCRYPTION_KEY", "RECOVERY_CODE_KEY", "EMAIL_API_KEY"]],
    ["no TOTP key", { TOTP_ENCRYPTION_KEY: undefined }, ["TOTP_ENCRYPTION_KEY"]],
    ["no recovery-code key", { RECOVERY_CODE_KEY: undefined }, ["RECOVERY_CODE_KEY"]],
    ["no email provider key", { EMAIL_API_KEY: undefined }, ["EMAIL_API_KEY"]],
    ["no email provider URL", { EMAIL_API_URL: undefined }, ["EMAIL_API_URL"]],
    ["an empty secret", { EMAIL_API_KEY: "" }, ["EMAIL_API_KEY"]],
    ["a TOTP key that is not 32 bytes", { TOTP_ENCRYPTION_KEY: "c2hvcnQta2V5" }, ["TOTP_ENCRYPTION_KEY"]],
    ["a recovery key that is not base64", { RECOVERY_CODE_KEY: "not base64 at all!!" }, ["RECOVERY_CODE_KEY"]],
    ["no APP_URL", { APP_URL: undefined }, ["APP_URL"]],
    ["a plain-http APP_URL", { APP_URL: "http://portal.example.com" }, ["APP_URL"]],
    ["a loopback APP_URL", { APP_URL: "https://127.0.0.1:8787" }, ["APP_URL"]],
    ["no EMAIL_FROM", { EMAIL_FROM: undefined }, ["EMAIL_FROM"]],
    ["no ENVIRONMENT and no email provider", { ENVIRONMENT: undefined, EMAIL_API_KEY: undefined }, ["ENVIRONMENT", "EMAIL_API_KEY"]],
    ["an unknown ENVIRONMENT and no email provider", { ENVIRONMENT: "Development", EMAIL_API_KEY: undefined }, ["EMAIL_API_KEY"]],
  ];

  for (const [name, overrides, named] of missing) {
    it(`${name}: every route answers 503 naming ${named.join(", ")}, never a value, and writes nothing`, async () => {
      const target = envWith(overrides);
      const routes = await everyRoute();
      const before = await outboxCount();
      for (const { path, init } of routes) {
        const { status, body, headers } = await send(target, `${PUBLIC_ORIGIN}${path}`, init);
        expect(status, `${init?.method ?? "GET"} ${path}`).toBe(503);
        expect(headers.get("cache-control")).toBe("no-store");
        for (const setting of named) expect(body, path).toContain(setting);
        for (const value of SECRET_VALUES) expect(body).not.toContain(value);
        for (const value of Object.values(overrides)) if (value) expect(body).not.toContain(value);
      }
      expect(await outboxCount()).toBe(before);
    });
  }

  it("/healthz reports not ready as JSON with the list of problems", async () => {
    const { status, body } = await send(envWith({ TOTP_ENCRYPTION_KEY: undefined, EMAIL_API_KEY: undefined }), `${PUBLIC_ORIGIN}/healthz`);
    expect(status).toBe(503);
    const json = JSON.parse(body) as { ok: boolean; problems: string[] };
    expect(json.ok).toBe(false);
    expect(json.problems).toEqual(["TOTP_ENCRYPTION_KEY is not set", "EMAIL_API_KEY is not set"]);
  });

  it("its cron run fails without sending the reminders that are due", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const now = Date.now();
    const { request } = await createRequest(firm, contact, { schedule: "gentle", dueDate: isoDay(now + 7 * DAY), sentAt: now - 3 * DAY });
    const target = envWith({ RECOVERY_CODE_KEY: undefined });
    await expect(worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), target)).rejects.toThrow(/RECOVERY_CODE_KEY/);
    const [after] = await db.select().from(requests).where(eq(requests.id, request.id));
    expect(after.lastReminderOn).toBeNull();
  });
});

describe("a configured production worker", () => {
  it("serves its pages and health", async () => {
    const target = envWith({});
    expect((await send(target, `${PUBLIC_ORIGIN}/healthz`)).status).toBe(200);
    expect((await send(target, `${PUBLIC_ORIGIN}/login`)).status).toBe(200);
  });

  it("has no dev outbox on any host, loopback ones included", async () => {
    const target = envWith({});
    for (const origin of [PUBLIC_ORIGIN, "http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) {
      const { status, body } = await send(target, `${origin}/dev/outbox`);
      expect(status, origin).toBe(404);
      expect(body).not.toContain("Dev outbox");
    }
  });
});

describe("development behaviour needs ENVIRONMENT=development and this machine", () => {
  const local = { ENVIRONMENT: "development", APP_URL: "http://127.0.0.1:8787", EMAIL_API_URL: undefined, EMAIL_API_KEY: undefined };

  it("the local dev server shows the dev outbox on loopback addresses", async () => {
    for (const origin of ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"]) {
      const { status, body } = await send(envWith(local), `${origin}/dev/outbox`);
      expect(status, origin).toBe(200);
      expect(body).toContain("Dev outbox");
    }
  });

  it("a development worker reached by a public hostname refuses to serve (a mistaken deploy shows no outbox)", async () => {
    for (const origin of [PUBLIC_ORIGIN, "https://client-portal.example.workers.dev", "http://192.168.1.20:8787", "http://127.0.0.1.nip.io:8787"]) {
      for (const path of ["/dev/outbox", "/", "/healthz"]) {
        const { status, body } = await send(envWith(local), `${origin}${path}`);
        expect(status, `${origin}${path}`).toBe(503);
        expect(body).toContain("ENVIRONMENT");
        expect(body).not.toContain("Dev outbox");
      }
    }
  });

  it("a development worker with a public APP_URL refuses to serve", async () => {
    const { status, body } = await send(envWith({ ...local, APP_URL: PUBLIC_ORIGIN }), "http://127.0.0.1:8787/dev/outbox");
    expect(status).toBe(503);
    expect(body).toContain("APP_URL");
  });

  it("any ENVIRONMENT other than exactly `development` has no dev outbox", async () => {
    for (const value of ["test", "production", "Development", "development ", "dev", "DEVELOPMENT"]) {
      const { status, body } = await send(envWith({ ...local, ENVIRONMENT: value, EMAIL_API_URL: CONFIGURED.EMAIL_API_URL, EMAIL_API_KEY: "k", APP_URL: PUBLIC_ORIGIN }), "http://127.0.0.1:8787/dev/outbox");
      expect(status, value).toBe(404);
      expect(body).not.toContain("Dev outbox");
    }
  });
});
