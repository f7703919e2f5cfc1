import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, outbox } from "../../db/schema";
import { createFirm, createStaff, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";

describe("staff sign-in", () => {
  it("answers the same generic error for an unknown email and a wrong password", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const unknown = await new Browser().post("/login", { email: "nobody@nowhere.test", password: "whatever-password" });
    const wrong = await new Browser().post("/login", { email: staff.email, password: "not-the-password" });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const [a, b] = [await unknown.text(), await wrong.text()];
    expect(a).toContain("The email or password is incorrect.");
    expect(b).toContain("The email or password is incorrect.");
  });

  it("records successful and failed sign-ins in the firm's audit log", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    await new Browser().post("/login", { email: staff.email, password: "wrong-password-1" });
    await new Browser().post("/login", { email: staff.email, password: PASSWORD });
    const events = await db.select().from(auditEvents).where(eq(auditEvents.firmId, firm.id));
    expect(events.map((e) => e.type).sort()).toEqual(["staff.sign_in_failed", "staff.signed_in"]);
    expect(events.every((e) => e.ip === "203.0.113.10")).toBe(true);
  });

  it("throttles failed sign-ins per account and IP: that IP is refused even with the right password, another IP is not", async () => {
    // The full set (per IP, per-account ceiling, spoofed headers): test/security/sign-in-throttling.test.ts.
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const attacker = "198.51.100.42";
    for (let i = 0; i < 10; i++) {
      const response = await new Browser(attacker).post("/login", { email: staff.email, password: `wrong-${i}-password` });
      expect(response.status).toBe(401);
    }
    const blocked = await new Browser(attacker).post("/login", { email: staff.email, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain("Too many failed sign-ins");
    expect((await new Browser("198.51.100.43").post("/login", { email: staff.email, password: PASSWORD })).status).toBe(302);
  });
});

describe("rule 32: bad input on the sign-in form", () => {
  const cases: Array<[string, RequestInit & { form?: Record<string, string> }, number[]]> = [
    ["missing fields", { method: "POST", form: {} }, [422]],
    ["a malformed email", { method: "POST", form: { email: "not-an-email", password: "x" } }, [422]],
    ["an oversized password", { method: "POST", form: { email: "a@b.test", password: "x".repeat(5000) } }, [422]],
    ["an oversized body", { method: "POST", form: { email: "a@b.test", password: "x".repeat(70_000) } }, [413]],
    [
      "a broken multipart body",
      { method: "POST", body: "--xx\r\nbroken", headers: { "content-type": "multipart/form-data; boundary=yy" } },
      [400],
    ],
    [
      "a file where text belongs",
      {
        method: "POST",
        body: (() => {
          const f = new FormData();
          f.set("email", new File(["a@b.test"], "e.txt"));
          f.set("password", "long-enough-password");
          return f;
        })(),
      },
      [422],
    ],
  ];
  for (const [name, init, statuses] of cases) {
    it(`${name} gives a clear error, never a 500, and signs nobody in`, async () => {
      const browser = new Browser();
      const response = await browser.fetch("/login", init);
      expect(statuses).toContain(response.status);
      const body = await response.text();
      expect(body.length).toBeGreaterThan(0);
      expect(browser.cookies.has("__Host-staff_session")).toBe(false);
    });
  }
});

describe("dev outbox", () => {
  it("does not exist outside development", async () => {
    const response = await new Browser().fetch("/dev/outbox");
    expect(response.status).toBe(404);
  });
});

describe("outbox", () => {
  it("is empty of anything a sign-in did not cause", async () => {
    const firm = await createFirm();
    const rows = await db.select().from(outbox).where(and(eq(outbox.firmId, firm.id)));
    expect(rows).toHaveLength(0);
  });
});
