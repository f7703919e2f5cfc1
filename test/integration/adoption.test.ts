// Issue 13: portal adoption at a glance (accounts, 2FA, signed in within 30 days by method, 12 weeks of
// sign-ins by method as an accessible SVG chart with its table), and the heads-up offered when an
// admin reviews a switch to "Magic link + Login 2FA".
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createReader } from "../../app/server/read-batch.server";
import { env } from "cloudflare:workers";
import { auditEvents, contacts, outbox, portalAccounts, sessions, staffUsers } from "../../db/schema";
import { createDb } from "../../app/server/db.server";
import { sendTwoFactorHeadsUp } from "../../app/server/staff/heads-up.server";
import { countingD1 } from "../support/query-counter";
import { auditRow } from "../../app/server/audit.server";
import { CHART_WEEKS, chartStart, portalAdoption, WEEK_MS } from "../../app/server/staff/adoption.server";
import { LIMITS } from "../../app/server/rate-limit.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, type TestFirm } from "../support/factories";
import { signInStaff } from "../support/http";
import { countedLoad } from "../support/queries";

const DAY = 24 * 60 * 60_000;
const SECURITY = "/app/settings/client-portal/security";

async function signIn(firm: TestFirm, contactId: string, kind: "link" | "reopened" | "password" | "totp" | "recovery_code" | "passkey" | "password+passkey", at: number) {
  const type = kind === "link" ? "access_link.claimed" : kind === "reopened" ? "access_link.reopened" : "client.signed_in";
  const detail = kind === "link" || kind === "reopened" ? { purpose: "staff" } : { factor: kind, device: null };
  await db.insert(auditEvents).values(auditRow({ firmId: firm.id, type, actor: { type: "client", id: contactId, label: "x" }, contactId, detail, at }));
}

/** A firm with known figures, and another firm whose activity must not count. */
async function craftedFirm() {
  const now = Date.now();
  const firm = await createFirm();
  const ann = await createContact(firm, { name: "Ann" }); // account, 2FA on
  const bob = await createContact(firm, { name: "Bob" }); // account, no 2FA
  const cat = await createContact(firm, { name: "Cat" }); // account, no 2FA
  const dan = await createContact(firm, { name: "Dan" }); // no account
  const eve = await createContact(firm, { name: "Eve" }); // no account
  const gone = await createContact(firm, { name: "Gone" }); // deleted, had an account with 2FA
  const annAccount = await createPortalAccount(firm, ann);
  await db.update(portalAccounts).set({ totpEnabledAt: now - 50 * DAY }).where(eq(portalAccounts.id, annAccount.id));
  await createPortalAccount(firm, bob);
  await createPortalAccount(firm, cat);
  const goneAccount = await createPortalAccount(firm, gone);
  await db.update(portalAccounts).set({ totpEnabledAt: now - DAY, deactivatedAt: now }).where(eq(portalAccounts.id, goneAccount.id));
  await db.update(contacts).set({ deletedAt: now }).where(eq(contacts.id, gone.id));
  // Within 30 days: Ann twice with 2FA (one by recovery code), Bob by password, Dan by link twice.
  await signIn(firm, ann.id, "totp", now - 1 * DAY);
  await signIn(firm, ann.id, "recovery_code", now - 2 * DAY);
  await signIn(firm, bob.id, "password", now - 3 * DAY);
  await signIn(firm, dan.id, "link", now - 4 * DAY);
  await signIn(firm, dan.id, "reopened", now - 5 * DAY);
  // Ann also with a passkey alone, and with her password and then a passkey (a second factor).
  await signIn(firm, ann.id, "passkey", now - 6 * DAY);
  await signIn(firm, ann.id, "password+passkey", now - 8 * DAY);
  // Older than 30 days, inside the 12 weeks: Cat by password, Eve by link.
  await signIn(firm, cat.id, "password", now - 40 * DAY);
  await signIn(firm, eve.id, "link", chartStart(now) + 60_000);
  // Older than 12 weeks: never shown.
  await signIn(firm, cat.id, "password", chartStart(now) - DAY);
  // Not sign-ins.
  await db.insert(auditEvents).values(auditRow({ firmId: firm.id, type: "client.sign_in_failed", actor: { type: "client", id: bob.id, label: "x" }, contactId: bob.id, at: now - DAY }));
  await db.insert(auditEvents).values(auditRow({ firmId: firm.id, type: "access_link.sent", actor: { type: "system" }, contactId: eve.id, at: now - DAY }));
  // Another firm's clients sign in a lot.
  const other = await createFirm();
  const stranger = await createContact(other);
  await createPortalAccount(other, stranger);
  for (let i = 0; i < 5; i++) await signIn(other, stranger.id, "password", now - i * DAY);
  return { firm, other, now, people: { ann, bob, cat, dan, eve, gone } };
}

describe("portal adoption figures", () => {
  it("counts live clients, accounts, 2FA and distinct recent sign-ins by method, from this firm only", async () => {
    const { firm, now } = await craftedFirm();
    const adoption = await portalAdoption(createReader(db), { firmId: firm.id }, now);
    expect(adoption).toMatchObject({ contacts: 5, accounts: 3, twoFactor: 1, withoutAccount: 2, mustEnrol: 2 });
    expect(adoption.recent).toEqual({ any: 3, link: 1, password: 1, password_2fa: 1, passkey: 1, other: 0 });
    expect(adoption.weeks).toHaveLength(CHART_WEEKS);
    const totals = adoption.weeks.reduce(
      (sum, w) => ({ link: sum.link + w.link, password: sum.password + w.password, password_2fa: sum.password_2fa + w.password_2fa, passkey: sum.passkey + w.passkey, other: sum.other + w.other }),
      { link: 0, password: 0, password_2fa: 0, passkey: 0, other: 0 },
    );
    expect(totals).toEqual({ link: 3, password: 2, password_2fa: 3, passkey: 1, other: 0 });
    // The oldest sign-in is in the first week, the latest ones in the last.
    expect(adoption.weeks[0].link).toBe(1);
    expect(adoption.weeks[CHART_WEEKS - 1].password_2fa).toBe(2);
    expect(adoption.weeks[1].start - adoption.weeks[0].start).toBe(WEEK_MS);
  });

  it("an empty firm is all zeros", async () => {
    const firm = await createFirm();
    const adoption = await portalAdoption(createReader(db), { firmId: firm.id });
    expect(adoption).toMatchObject({ contacts: 0, accounts: 0, twoFactor: 0, withoutAccount: 0, mustEnrol: 0, recent: { any: 0 } });
    expect(adoption.weeks.every((w) => w.link + w.password + w.password_2fa + w.passkey + w.other === 0)).toBe(true);
  });

  for (const path of [SECURITY, "/app/contacts"]) {
    it(`${path} shows the figures, an SVG chart with a title and a description, and the table of numbers, for members too`, async () => {
      const { firm } = await craftedFirm();
      const staff = await createStaff(firm, { role: "member" });
      const browser = await signInStaff(staff.email, PASSWORD);
      const response = await browser.fetch(path);
      const html = await response.text();
      expect(response.status).toBe(200);
      expect(html).toMatch(/Clients with a portal account<\/dt><dd>3<!-- --> of <!-- -->5/);
      expect(html).toMatch(/Two-factor authentication on<\/dt><dd>1/);
      expect(html).toMatch(/Signed in within 30 days<\/dt><dd>3/);
      expect(html).toContain("link 1, password 1, password + 2fa 1, passkey 1");
      const svg = /<svg role="img" aria-labelledby="([^"]+) ([^"]+)"[\s\S]*?<\/svg>/.exec(html);
      expect(svg).not.toBeNull();
      expect(svg![0]).toContain(`<title id="${svg![1]}">Client sign-ins by method, last 12 weeks</title>`);
      expect(svg![0]).toMatch(new RegExp(`<desc id="${svg![2]}">[^<]*9 sign-ins in all`));
      expect((svg![0].match(/<rect /g) ?? []).length).toBeGreaterThanOrEqual(3);
      const table = /<table class="compact">[\s\S]*?<\/table>/.exec(html)![0];
      expect((table.match(/<th scope="row">/g) ?? []).length).toBe(CHART_WEEKS);
      expect(table).toContain('<th scope="col">Password + 2FA</th>');
      expect(table).toContain('<th scope="col">Passkey</th>');
      // The table's Total column adds up to every sign-in of the 12 weeks.
      const cells = [...table.matchAll(/<tr><th scope="row">[^<]*<\/th>((?:<td>\d+<\/td>)+)<\/tr>/g)].map(([, tds]) => [...tds.matchAll(/<td>(\d+)<\/td>/g)].map(([, n]) => Number(n)));
      expect(cells).toHaveLength(CHART_WEEKS);
      expect(cells.reduce((sum, row) => sum + row[row.length - 1], 0)).toBe(9);
    });
  }

  it("the Security page stays within the page budget (issue 14): two D1 round trips when last-seen moves, the figures in the first", async () => {
    const { firm } = await craftedFirm();
    const staff = await createStaff(firm);
    const browser = await signInStaff(staff.email, PASSWORD);
    const [id] = browser.cookies.get("__Host-staff_session")!.split(".");
    await db.update(sessions).set({ lastSeenAt: Date.now() - 10 * 60_000 }).where(eq(sessions.id, id));
    const { response, log } = await countedLoad(browser, SECURITY);
    expect(response.status).toBe(200);
    expect(log.roundTrips).toBeLessThanOrEqual(2);
    // The figures come in the session's batch, not in a round trip of their own.
    const figures = log.queries.find((q) => /'contacts'/.test(q.sql));
    expect(figures?.batched).toBe(true);
  });
});

describe("reviewing a switch to Magic link + Login 2FA", () => {
  it("says how many have no login and how many must enrol, and emails them a heads-up: outbox rows, one audit event", async () => {
    const { firm, other, people } = await craftedFirm();
    const admin = await createStaff(firm, { role: "admin" });
    const browser = await signInStaff(admin.email, PASSWORD);
    const review = await browser.post(SECURITY, { mode: "magic_link_and_login_2fa", intent: "review" });
    const html = await review.text();
    expect(review.status).toBe(200);
    expect(html).toContain("2 clients have no login yet");
    expect(html).toContain("2 clients have a login without two-factor authentication");
    expect(html).toContain("Email these 4 clients a heads-up");

    const since = Date.now();
    const sent = await browser.post(SECURITY, { intent: "heads-up" });
    const page = await sent.text();
    expect(sent.status).toBe(200);
    expect(page).toContain("We emailed a heads-up to 4 clients");
    // The review stays open, so the admin can go on and switch.
    expect(page).toContain("Confirm and save");
    const rows = await db.select().from(outbox).where(and(eq(outbox.firmId, firm.id), eq(outbox.subject, `${firm.name} will ask for two-factor authentication`)));
    expect(rows.map((r) => r.toAddress).sort()).toEqual([people.bob, people.cat, people.dan, people.eve].map((p) => p.email).sort());
    expect(rows.every((r) => r.createdAt >= since)).toBe(true);
    expect(rows.find((r) => r.toAddress === people.bob.email)!.textBody).toContain("At your next sign-in you will be asked to set up an authenticator app");
    expect(rows.find((r) => r.toAddress === people.dan.email)!.textBody).toContain("create a login");
    expect(rows.every((r) => !/\/l\//.test(r.textBody))).toBe(true);
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "firm.two_factor_heads_up_sent")));
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].detail!)).toEqual({ count: 4, skipped: 0 });
    expect(await db.select().from(outbox).where(eq(outbox.firmId, other.id))).toHaveLength(0);
    // The mode itself did not change.
    const [after] = await db.query.firms.findMany({ where: (f, { eq: e }) => e(f.id, firm.id) });
    expect(after.securityMode).toBe("magic_link_and_login");
  });

  it("pressing it again and again stays within the per-address email limit", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const admin = await createStaff(firm, { role: "admin" });
    const browser = await signInStaff(admin.email, PASSWORD);
    for (let i = 0; i < LIMITS.emailPerAddress.limit + 2; i++) expect((await browser.post(SECURITY, { intent: "heads-up" })).status).toBe(200);
    const rows = await db.select().from(outbox).where(eq(outbox.toAddress, contact.email));
    expect(rows).toHaveLength(LIMITS.emailPerAddress.limit);
    const events = await db.select().from(auditEvents).where(and(eq(auditEvents.firmId, firm.id), eq(auditEvents.type, "firm.two_factor_heads_up_sent")));
    expect(events.map((e) => JSON.parse(e.detail!).count)).toEqual(expect.arrayContaining([1, 0]));
  });

  it("a large firm's heads-up is one batch, each statement within D1's 100 bound parameters", async () => {
    const firm = await createFirm();
    const rows = Array.from({ length: 450 }, (_, i) => ({ id: `hu_${firm.id}_${i}`, firmId: firm.id, name: `Client ${i}`, email: `hu${i}.${firm.id}@example.test` }));
    for (let i = 0; i < rows.length; i += 20) await db.insert(contacts).values(rows.slice(i, i + 20));
    const admin = await createStaff(firm, { role: "admin" });
    const [staff] = await db.select().from(staffUsers).where(eq(staffUsers.id, admin.id));
    const { db: d1, log } = countingD1(env.DB);
    const result = await sendTwoFactorHeadsUp(createDb(d1), env, { firm, staff, session: null as never, passkeys: 0 }, { ip: "203.0.113.1", userAgent: "test" });
    expect(result).toEqual({ emailed: 450, skipped: 0 });
    expect(await db.select().from(outbox).where(eq(outbox.firmId, firm.id))).toHaveLength(450);
    expect(log.roundTrips).toBeLessThanOrEqual(3);
    expect(Math.max(...log.queries.map((q) => q.params.length))).toBeLessThanOrEqual(100);
    const browser = await signInStaff(admin.email, PASSWORD);
    // Through the page: every address was just emailed once, so this one is within the limit too.
    const response = await browser.post(SECURITY, { intent: "heads-up" });
    expect(await response.text()).toContain("We emailed a heads-up to 450 clients");
  });

  it("members get 403, a stale sign-in is sent to re-authenticate, a team-plan firm is refused; nothing is emailed", async () => {
    const firm = await createFirm();
    await createContact(firm);
    const member = await createStaff(firm, { role: "member" });
    const memberBrowser = await signInStaff(member.email, PASSWORD);
    expect((await memberBrowser.post(SECURITY, { intent: "heads-up" })).status).toBe(403);

    const admin = await createStaff(firm, { role: "admin" });
    const stale = await signInStaff(admin.email, PASSWORD);
    const [id] = stale.cookies.get("__Host-staff_session")!.split(".");
    await db.update(sessions).set({ reauthenticatedAt: Date.now() - 15 * 60_000, createdAt: Date.now() - 15 * 60_000 }).where(eq(sessions.id, id));
    const response = await stale.post(SECURITY, { intent: "heads-up" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toContain("/app/reauthenticate");

    const team = await createFirm({ plan: "team" });
    await createContact(team);
    const teamAdmin = await createStaff(team, { role: "admin" });
    const teamBrowser = await signInStaff(teamAdmin.email, PASSWORD);
    expect((await teamBrowser.post(SECURITY, { intent: "heads-up" })).status).toBe(403);

    for (const f of [firm, team]) expect(await db.select().from(outbox).where(eq(outbox.firmId, f.id))).toHaveLength(0);
  });
});
