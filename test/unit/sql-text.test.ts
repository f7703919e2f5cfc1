// SQL text built for `wrangler d1 execute` (the demo seed, the browser tests' firms, `firm:plan`): every
// value is quoted, so a value that tries to end its string stays a value. Checked against real D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parsePlanArgs, planChangeSql } from "../../scripts/plan-change";
import { insertOrIgnore, literal, sql } from "../../db/sql-text";
import { createFirm, db, uid } from "../support/factories";
import { auditEvents, firms } from "../../db/schema";
import { eq } from "drizzle-orm";

const HOSTILE = [
  "'",
  "''",
  "x'; DROP TABLE firms; --",
  "x' OR '1'='1",
  "\\'; SELECT 1; --",
  "line\nbreak",
  "carriage\rreturn",
  "tab\tch",
  "double \" quote",
  "back`tick",
  "semi;colon",
  "/* comment */",
  "-- comment",
  "ünïcödé ✓ 名前",
  "emoji 🧾",
  "\u2028\u2029",
  "",
];

describe("literal: a value in SQL text reads back as exactly that value", () => {
  it.each(HOSTILE)("string %j", async (value) => {
    const row = await env.DB.prepare(`SELECT ${literal(value)} AS v`).first<{ v: string }>();
    expect(row?.v).toBe(value);
  });

  it("numbers, booleans and NULL", async () => {
    const row = await env.DB.prepare(`SELECT ${literal(42)} AS a, ${literal(-1.5)} AS b, ${literal(true)} AS c, ${literal(false)} AS d, ${literal(null)} AS e`).first();
    expect(row).toEqual({ a: 42, b: -1.5, c: 1, d: 0, e: null });
  });

  it("refuses what cannot be written safely: NaN, infinities, NUL, non-values", () => {
    expect(() => literal(Number.NaN)).toThrow();
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => literal("a\0b")).toThrow(/NUL/);
    expect(() => literal({} as unknown as string)).toThrow();
  });

  it("the sql tag quotes every interpolated value", () => {
    expect(sql`SELECT * FROM firms WHERE slug = ${"a'b"} AND plan = ${"team"} LIMIT ${1};`).toBe(
      "SELECT * FROM firms WHERE slug = 'a''b' AND plan = 'team' LIMIT 1;",
    );
  });

  it("insertOrIgnore refuses table and column names that are not plain identifiers", () => {
    expect(insertOrIgnore("firms", { id: "x'y", plan: null })).toBe("INSERT OR IGNORE INTO firms (id, plan) VALUES ('x''y', NULL);");
    expect(() => insertOrIgnore("firms; DROP TABLE firms", { id: "x" })).toThrow();
    expect(() => insertOrIgnore("firms", { "id) VALUES ('a'); --": "x" })).toThrow();
  });

  it("an inserted row holds the hostile values unchanged", async () => {
    const id = uid("firm_");
    const name = HOSTILE.join("|");
    await env.DB.prepare(insertOrIgnore("firms", { id, name, slug: id, plan: "team", security_mode: "magic_link_and_login", created_at: 1 })).run();
    const [row] = await db.select().from(firms).where(eq(firms.id, id));
    expect(row.name).toBe(name);
  });
});

describe("firm:plan (scripts/set-plan.ts)", () => {
  it("accepts a slug and a plan, with --remote and --env", () => {
    expect(parsePlanArgs(["harbor", "team"])).toEqual({ ok: true, change: { slug: "harbor", plan: "team", remote: false, envName: undefined } });
    expect(parsePlanArgs(["--env", "production", "harbor", "enterprise", "--remote"])).toEqual({
      ok: true,
      change: { slug: "harbor", plan: "enterprise", remote: true, envName: "production" },
    });
  });

  it.each([
    [[]],
    [["harbor"]],
    [["harbor", "gold"]],
    [["Harbor", "team"]],
    [["harbor'--", "team"]],
    [["harbor", "team", "extra"]],
    [["harbor", "team", "--force"]],
    [["harbor", "team", "--env"]],
    [["harbor", "team", "--env", "prod'; --"]],
    [["a".repeat(65), "team"]],
  ])("refuses %j", (args) => {
    const parsed = parsePlanArgs(args);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.length).toBeGreaterThan(0);
  });

  it("changes only the named firm's plan, with an audit event, even for a slug that tries to be SQL", async () => {
    const target = await createFirm({ plan: "business" });
    const bystander = await createFirm({ plan: "business" });
    const eventId = uid("evt_");
    const run = async (statements: string[]) => {
      for (const statement of statements) await env.DB.prepare(statement).all();
    };

    // The script only passes validated slugs; the SQL must still hold for any slug it is given.
    for (const slug of [`${bystander.slug}' OR '1'='1`, `x'; UPDATE firms SET plan = 'team'; --`]) {
      await run(planChangeSql({ slug, plan: "team" }, uid("evt_"), Date.now()));
    }
    await run(planChangeSql({ slug: target.slug, plan: "team" }, eventId, 1234));

    const plans = await db.select({ id: firms.id, plan: firms.plan }).from(firms).where(eq(firms.id, bystander.id));
    expect(plans).toEqual([{ id: bystander.id, plan: "business" }]);
    const [changed] = await db.select({ plan: firms.plan }).from(firms).where(eq(firms.id, target.id));
    expect(changed.plan).toBe("team");
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.id, eventId));
    expect(event).toMatchObject({ firmId: target.id, type: "firm.plan_changed", at: 1234, actorType: "system" });
    expect(JSON.parse(event.detail as unknown as string)).toEqual({ plan: "team" });
  });
});
