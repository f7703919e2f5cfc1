// The firm-wide setting: rules 10, 18 (re-authentication), 21 (members), 22 (plan gating).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, firms, sessions } from "../../db/schema";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, issueLink } from "../support/portal";

const PATH = "/app/settings/client-portal/security";

async function modeOf(firm: TestFirm) {
  const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
  return row.securityMode;
}

async function admin(firm: TestFirm) {
  const staff = await createStaff(firm, { role: "admin" });
  return signInStaff(staff.email, PASSWORD);
}

async function clientWithPasswordSession(firm: TestFirm) {
  const contact = await createContact(firm);
  await createPortalAccount(firm, contact);
  const browser = new Browser();
  const response = await browser.post(`/portal/${firm.slug}/login`, { email: contact.email, password: PASSWORD });
  expect(response.status).toBe(302);
  return { contact, browser };
}

describe("switching modes", () => {
  it("asks for confirmation with the number of sessions that will end, then saves and audits", async () => {
    const firm = await createFirm();
    await clientWithPasswordSession(firm);
    const browser = await admin(firm);
    const review = await browser.post(PATH, { mode: "magic_link_only", intent: "review" });
    expect(review.status).toBe(200);
    const html = await review.text();
    expect(html).toContain("1 client session will end.");
    expect(await modeOf(firm)).toBe("magic_link_and_login");
    const confirm = await browser.post(PATH, { mode: "magic_link_only", intent: "confirm" });
    expect(confirm.status).toBe(200);
    expect(await modeOf(firm)).toBe("magic_link_only");
    const events = await db.select().from(auditEvents).where(eq(auditEvents.firmId, firm.id));
    const change = events.find((e) => e.type === "firm.security_mode_changed");
    expect(JSON.parse(change!.detail!)).toMatchObject({ from: "magic_link_and_login", to: "magic_link_only", endedSessions: 1 });
  });

  it("to Magic link only ends password sessions, keeps link sessions and accounts; switching back restores logins", async () => {
    const firm = await createFirm();
    const { contact, browser: client } = await clientWithPasswordSession(firm);
    const linkClient = await claim(await issueLink(firm, await createContact(firm)));
    const browser = await admin(firm);
    await browser.post(PATH, { mode: "magic_link_only", intent: "confirm" });
    const base = `/portal/${firm.slug}`;
    expect((await client.fetch(`${base}/requests`)).status).toBe(302);
    expect((await linkClient.browser.fetch(`${base}/requests`)).status).toBe(200);
    await browser.post(PATH, { mode: "magic_link_and_login", intent: "confirm" });
    const again = await new Browser().post(`${base}/login`, { email: contact.email, password: PASSWORD });
    expect(again.headers.get("location")).toBe(`${base}/requests`);
  });

  it("rule 10: a switch to 2FA takes effect at once for a live session without 2FA", async () => {
    const firm = await createFirm();
    const { browser: client } = await clientWithPasswordSession(firm);
    const base = `/portal/${firm.slug}`;
    expect((await client.fetch(`${base}/requests`)).status).toBe(200);
    const browser = await admin(firm);
    await browser.post(PATH, { mode: "magic_link_and_login_2fa", intent: "confirm" });
    const next = await client.fetch(`${base}/requests`);
    expect(next.status).toBe(302);
    expect(next.headers.get("location")).not.toContain("/requests");
    const remaining = await db.select().from(sessions).where(eq(sessions.firmId, firm.id));
    expect(remaining.every((s) => s.kind === "staff")).toBe(true);
  });

  it("rule 18: a stale staff sign-in is sent to confirm the password and nothing changes", async () => {
    const firm = await createFirm();
    const browser = await admin(firm);
    const id = browser.cookies.get("__Host-staff_session")!.split(".")[0];
    const fifteenMinutesAgo = Date.now() - 15 * 60_000;
    await db.update(sessions).set({ createdAt: fifteenMinutesAgo, reauthenticatedAt: fifteenMinutesAgo }).where(eq(sessions.id, id));
    const response = await browser.post(PATH, { mode: "magic_link_only", intent: "confirm" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/^\/app\/reauthenticate\?redirectTo=/);
    expect(await modeOf(firm)).toBe("magic_link_and_login");
    await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: PATH });
    expect((await browser.post(PATH, { mode: "magic_link_only", intent: "confirm" })).status).toBe(200);
    expect(await modeOf(firm)).toBe("magic_link_only");
  });
});

describe("rule 21: members cannot do admin actions", () => {
  it("a member POSTing the security setting gets 403 and the mode is unchanged", async () => {
    const firm = await createFirm();
    const member = await createStaff(firm, { role: "member" });
    const browser = await signInStaff(member.email, PASSWORD);
    expect((await browser.fetch(PATH)).status).toBe(200);
    for (const intent of ["review", "confirm"]) {
      const response = await browser.post(PATH, { mode: "magic_link_only", intent });
      expect(response.status).toBe(403);
    }
    expect(await modeOf(firm)).toBe("magic_link_and_login");
  });
});

describe("rule 22: plan gating is enforced by the server", () => {
  it("a team-plan admin POSTing the 2FA mode gets a clear error and the mode is unchanged", async () => {
    const firm = await createFirm({ plan: "team" });
    const browser = await admin(firm);
    const page = await (await browser.fetch(PATH)).text();
    expect(page).toContain("Available on Business and Enterprise plans.");
    for (const intent of ["review", "confirm"]) {
      const response = await browser.post(PATH, { mode: "magic_link_and_login_2fa", intent });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain("available on Business and Enterprise plans");
    }
    expect(await modeOf(firm)).toBe("magic_link_and_login");
  });

  it("a firm downgraded to team keeps 2FA (fail secure) and cannot pick it again after switching away", async () => {
    const firm = await createFirm({ plan: "team", securityMode: "magic_link_and_login_2fa" });
    const browser = await admin(firm);
    const page = await (await browser.fetch(PATH)).text();
    expect(page).toContain("It stays on to keep your clients safe");
    expect((await browser.post(PATH, { mode: "magic_link_and_login", intent: "confirm" })).status).toBe(200);
    expect((await browser.post(PATH, { mode: "magic_link_and_login_2fa", intent: "confirm" })).status).toBe(403);
    expect(await modeOf(firm)).toBe("magic_link_and_login");
  });

  it("bad input on the setting form gets a clear error, never a 500", async () => {
    const firm = await createFirm();
    const browser = await admin(firm);
    for (const form of [{}, { mode: "everything_off", intent: "confirm" }, { mode: "magic_link_only" }, { mode: "x".repeat(5000), intent: "review" }]) {
      const response = await browser.post(PATH, form as Record<string, string>);
      expect(response.status).toBe(422);
    }
    expect(await modeOf(firm)).toBe("magic_link_and_login");
  });
});
