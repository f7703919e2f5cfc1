// `npm run firm:create` (ADR 017): the firm and its first admin in one batch, the admin's first password
// chosen through a single-use set-password link whose secret is stored only as SHA-256. The statements are
// the ones the command sends through `wrangler d1 execute`, run here against the worker's own D1.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, firms, staffUsers } from "../../db/schema";
import {
  createFirmSql,
  findStaffForSetup,
  firmConflictsSql,
  newFirmIds,
  newFirmSchema,
  newSetupLink,
  reissueSetupSql,
  SETUP_LINK_VALIDITY_MS,
  setupLinkUrl,
} from "~/server/staff/staff-setup.server";
import { db, uid } from "../support/factories";
import { Browser, ORIGIN } from "../support/http";

const GOOD_PASSWORD = "a long and private passphrase 2026";

async function run(statements: string[]) {
  return (await env.DB.batch(statements.map((s) => env.DB.prepare(s)))).map((r) => r.results as Record<string, unknown>[]);
}

async function createWithCommand(overrides: Partial<Record<string, string>> = {}) {
  const slug = uid("acme-");
  const firm = newFirmSchema.parse({ name: "O'Brien & Co \"Tax\"", slug, adminEmail: `${slug}@Acme.Example`, ...overrides });
  const ids = newFirmIds();
  const link = await newSetupLink();
  await run(createFirmSql(firm, ids, link.marker, Date.now()));
  const url = new URL(setupLinkUrl(ORIGIN, ids.staffId, link.secret));
  return { firm, ids, link, path: `${url.pathname}${url.search}`, token: url.searchParams.get("token")! };
}

describe("firm:create statements", () => {
  it("create the firm, its admin with a set-up marker (no password) and the audit event; quoting keeps the name", async () => {
    const { firm, ids, link } = await createWithCommand({ plan: "enterprise" });
    const [row] = await db.select().from(firms).where(eq(firms.id, ids.firmId));
    expect(row).toMatchObject({ name: "O'Brien & Co \"Tax\"", slug: firm.slug, plan: "enterprise" });
    const [admin] = await db.select().from(staffUsers).where(eq(staffUsers.id, ids.staffId));
    expect(admin).toMatchObject({ firmId: ids.firmId, email: firm.adminEmail, role: "admin" });
    expect(admin.email).toBe(admin.email.toLowerCase());
    expect(admin.passwordHash).toMatch(/^setup\$[0-9a-f]{64}\$\d+$/);
    expect(admin.passwordHash).not.toContain(link.secret);
    const events = await db.select().from(auditEvents).where(eq(auditEvents.firmId, ids.firmId));
    expect(events.map((e) => e.type)).toEqual(["firm.created"]);
  });

  it("report a taken slug and a taken admin address; a batch that collides writes nothing", async () => {
    const { firm } = await createWithCommand();
    expect((await run([firmConflictsSql(firm)]))[0][0]).toEqual({ slug_taken: 1, email_taken: 1 });
    expect((await run([firmConflictsSql({ slug: uid("free-"), adminEmail: `${uid()}@x.example` })]))[0][0]).toEqual({ slug_taken: 0, email_taken: 0 });
    const again = { ...firm, adminEmail: `${uid()}@other.example` };
    const ids = newFirmIds();
    await expect(run(createFirmSql(again, ids, (await newSetupLink()).marker, Date.now()))).rejects.toThrow(/UNIQUE/);
    expect(await db.select().from(staffUsers).where(eq(staffUsers.id, ids.staffId))).toEqual([]);
  });

  it.each([
    ["Acme", "capitals"],
    ["-acme", "a leading dash"],
    ["acme-", "a trailing dash"],
    ["ac me", "a space"],
    ["acme'; DROP TABLE firms;--", "SQL"],
    ["a".repeat(49), "49 characters"],
    ["", "nothing"],
  ])("refuse the slug %j (%s)", (slug) => {
    expect(newFirmSchema.safeParse({ name: "Acme", slug, adminEmail: "a@acme.example" }).success).toBe(false);
  });

  it.each(["", "not-an-email", "a@", "@acme.example", `${"a".repeat(250)}@acme.example`])("refuse the admin email %j", (adminEmail) => {
    expect(newFirmSchema.safeParse({ name: "Acme", slug: "acme", adminEmail }).success).toBe(false);
  });

  it("refuse an unknown plan and an empty name; default to business", () => {
    expect(newFirmSchema.safeParse({ name: "Acme", slug: "acme", adminEmail: "a@acme.example", plan: "gold" }).success).toBe(false);
    expect(newFirmSchema.safeParse({ name: "  ", slug: "acme", adminEmail: "a@acme.example" }).success).toBe(false);
    expect(newFirmSchema.parse({ name: "Acme", slug: "acme", adminEmail: "a@acme.example" }).plan).toBe("business");
  });
});

describe("the admin's first password, through the set-password link", () => {
  it("the marker never signs in; the link sets a password once; then the admin signs in", async () => {
    const { firm, path, token } = await createWithCommand();
    for (const password of ["", GOOD_PASSWORD, "setup", token]) {
      expect((await new Browser().post("/login", { email: firm.adminEmail, password })).status).not.toBe(302);
    }
    const browser = new Browser();
    const page = await browser.fetch(path);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await page.text()).toContain(firm.adminEmail);

    expect((await browser.post("/login/set-password", { token, password: "short" })).status).toBe(422);
    expect((await browser.post("/login/set-password", { token, password: "mailcreated5240" })).status).toBe(422);
    const set = await browser.post("/login/set-password", { token, password: GOOD_PASSWORD });
    expect(set.status).toBe(200);
    expect(await set.text()).toContain("Your password is set");

    expect((await new Browser().post("/login", { email: firm.adminEmail, password: GOOD_PASSWORD })).status).toBe(302);
    // Single use: the link is dead, and a second password cannot replace the first through it.
    expect((await browser.post("/login/set-password", { token, password: `${GOOD_PASSWORD}!` })).status).toBe(400);
    expect(await (await browser.fetch(path)).text()).not.toContain(firm.adminEmail);
    expect((await new Browser().post("/login", { email: firm.adminEmail, password: GOOD_PASSWORD })).status).toBe(302);
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.type, "staff.password_set")).orderBy(auditEvents.at);
    expect(event).toBeDefined();
  });

  it("20 concurrent submissions of one link set exactly one password", async () => {
    const { ids, token } = await createWithCommand();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => new Browser(`203.0.113.${i + 1}`).post("/login/set-password", { token, password: `${GOOD_PASSWORD} ${i}` })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 400)).toBe(true);
    const events = await db.select().from(auditEvents).where(eq(auditEvents.firmId, ids.firmId));
    expect(events.filter((e) => e.type === "staff.password_set")).toHaveLength(1);
  });

  it("a wrong, malformed, other account's, expired or replaced token opens nothing and never errors", async () => {
    const { firm, ids, token } = await createWithCommand();
    const other = await createWithCommand();
    const [, secret] = token.split(".");
    const bad = [
      "",
      "x",
      `${ids.staffId}.${"A".repeat(43)}`,
      `${other.ids.staffId}.${secret}`,
      `${ids.staffId}.${secret}x`,
      `${ids.staffId}..${secret}`,
      `${ids.staffId}.${secret.slice(0, 42)}`,
      `../${token}`,
      `${token}\n`,
      "%00",
      "a".repeat(5000),
    ];
    for (const candidate of bad) {
      const page = await new Browser().fetch(`/login/set-password?token=${encodeURIComponent(candidate)}`);
      expect(page.status, candidate).toBe(200);
      expect(await page.text(), candidate).not.toContain(firm.adminEmail);
      const post = await new Browser().post("/login/set-password", { token: candidate, password: GOOD_PASSWORD });
      expect([400, 422], candidate).toContain(post.status);
    }
    expect(await findStaffForSetup(db, token, Date.now() + SETUP_LINK_VALIDITY_MS + 1)).toBeNull();
    expect(await findStaffForSetup(db, token)).not.toBeNull();

    // Reissued: the old link stops working, the new one works.
    const next = await newSetupLink();
    const [updated] = await run([reissueSetupSql(firm.slug, firm.adminEmail, next.marker)]);
    expect(updated).toHaveLength(1);
    expect(await findStaffForSetup(db, token)).toBeNull();
    expect(await findStaffForSetup(db, `${ids.staffId}.${next.secret}`)).not.toBeNull();
    // Once a password is set, a reissue does nothing: the command cannot take an account over.
    await new Browser().post("/login/set-password", { token: `${ids.staffId}.${next.secret}`, password: GOOD_PASSWORD });
    expect((await run([reissueSetupSql(firm.slug, firm.adminEmail, (await newSetupLink()).marker)]))[0]).toHaveLength(0);
  });
});
