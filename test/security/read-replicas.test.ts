// Issue 14, ADR 020: pages may read a nearby D1 replica, but a replica can be behind the primary, and
// nothing a replica returns proves it has seen a revocation. These tests stand up a replica that really is
// stale (test/support/stale-replica.ts), revoke or claim on the primary, and check that what the replica
// still shows never lets anyone in. Each has a control: the same request with every read sent to the
// replica does get in, so the replica in the test is stale and the routing is what keeps the door shut.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions, staffUsers } from "../../db/schema";
import { runBatch } from "../../app/server/db.server";
import { revokeContactCredentials } from "../../app/server/auth/sessions.server";
import { BOOKMARK_COOKIE } from "../../app/server/d1-sessions.server";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, issueLink } from "../support/portal";
import { createRequest } from "../support/requests";
import { fetchVia, replicatedD1, snapshot } from "../support/stale-replica";

async function clientWithRequest() {
  const firm = await createFirm();
  const contact = await createContact(firm, { name: "Replica Client" });
  const account = await createPortalAccount(firm, contact);
  const { request } = await createRequest(firm, contact);
  return { firm, contact, account, request, browser: await clientBrowser(account) };
}

describe("read replicas never undo a revocation (rule 27 with replicas)", () => {
  it("a client session revoked on the primary is refused although a stale replica still has it", async () => {
    const { firm, contact, request, browser } = await clientWithRequest();
    const page = `/portal/${firm.slug}/requests`;
    const replicaAt = await snapshot();
    // Every revoking action ends the contact's sessions with these statements (sign out everywhere, 2FA reset, ...).
    await runBatch(db, revokeContactCredentials(db, contact.id));

    const { binding, routing } = replicatedD1(replicaAt);
    const refused = await fetchVia(binding, new Browser().withCookies(browser), page);
    expect(refused.status).toBe(302);
    expect(await refused.text()).not.toContain(request.title);
    expect(routing.sessions.map((s) => s.servedBy)).toEqual(["primary"]);

    // Control: read from the replica, the revoked session would still be let in.
    const stale = replicatedD1(replicaAt, { everythingFromReplica: true });
    const leaked = await fetchVia(stale.binding, new Browser().withCookies(browser), page);
    expect(leaked.status).toBe(200);
    expect(await leaked.text()).toContain(request.title);
  });

  it("a staff session ended on the primary (signed out, deactivated) is refused although a stale replica still has it", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { name: "Seen By Staff" });
    for (const end of ["sign-out", "deactivate"] as const) {
      const staff = await createStaff(firm);
      const browser = await signInStaff(staff.email, PASSWORD);
      const replicaAt = await snapshot();
      if (end === "sign-out") await db.delete(sessions).where(eq(sessions.staffUserId, staff.id));
      else await db.update(staffUsers).set({ deactivatedAt: Date.now() }).where(eq(staffUsers.id, staff.id));

      const refused = await fetchVia(replicatedD1(replicaAt).binding, new Browser().withCookies(browser), `/app/contacts/${contact.id}`);
      expect(refused.status, end).toBe(302);
      expect(refused.headers.get("location"), end).toMatch(/^\/login/);

      const control = await fetchVia(replicatedD1(replicaAt, { everythingFromReplica: true }).binding, new Browser().withCookies(browser), `/app/contacts/${contact.id}`);
      expect(control.status, `${end} control`).toBe(200);
    }
  });

  it("a link claimed on the primary cannot be claimed or opened again from a stale replica", async () => {
    const { firm, contact } = await clientWithRequest();
    const token = await issueLink(firm, contact);
    const replicaAt = await snapshot();
    const first = await claim(token);
    expect(first.response.status).toBe(302);

    const other = new Browser("198.51.100.7");
    const { binding, routing } = replicatedD1(replicaAt);
    const landing = await fetchVia(binding, other, `/l/${token}`);
    expect(await landing.text()).not.toMatch(/name="intent" value="continue"/);
    const post = await fetchVia(binding, other, `/l/${token}`, { intent: "continue" });
    expect(post.status).toBe(410);
    expect(other.cookies.has("__Host-portal_session")).toBe(false);
    expect(routing.sessions.every((s) => s.servedBy === "primary")).toBe(true);

    // Control: the stale replica still shows the link as unused.
    const control = await fetchVia(replicatedD1(replicaAt, { everythingFromReplica: true }).binding, new Browser("198.51.100.8"), `/l/${token}`);
    expect(await control.text()).toMatch(/name="intent" value="continue"/);
  });
});

describe("what may read a replica", () => {
  it("public pages read the nearest replica; a browser's own write moves its later reads past it", async () => {
    const replicaAt = await snapshot();
    // A firm created after the snapshot: the stale replica does not know it yet.
    const firm = await createFirm({ name: "Newer Than The Replica" });
    const { binding, routing } = replicatedD1(replicaAt);
    const visitor = new Browser("192.0.2.50");
    const fromReplica = await fetchVia(binding, visitor, `/portal/${firm.slug}/login`);
    expect(fromReplica.status).toBe(404);
    expect(routing.sessions.at(-1)).toEqual({ constraint: "first-unconstrained", servedBy: "replica" });

    // A write from this browser (a link request: always a POST) returns its bookmark in a cookie...
    await fetchVia(binding, visitor, `/portal/${firm.slug}/login`, { intent: "email-link", email: "nobody@example.test" });
    const bookmark = visitor.cookies.get(BOOKMARK_COOKIE);
    expect(bookmark).toBeTruthy();
    expect(bookmark! > replicaAt).toBe(true);
    // ...so its next public read is at least that new: not from the stale replica.
    const fresh = await fetchVia(binding, visitor, `/portal/${firm.slug}/login`);
    expect(fresh.status).toBe(200);
    expect(routing.sessions.at(-1)).toEqual({ constraint: bookmark, servedBy: "primary" });
  });

  it("every request with a session cookie, every write and every link page reads the primary", async () => {
    const { firm, request, browser } = await clientWithRequest();
    const replicaAt = await snapshot();
    const { binding, routing } = replicatedD1(replicaAt);
    await fetchVia(binding, new Browser().withCookies(browser), `/portal/${firm.slug}/requests/${request.id}`);
    await fetchVia(binding, new Browser().withCookies(browser), `/portal/${firm.slug}/account`);
    await fetchVia(binding, new Browser(), `/l/${"A".repeat(43)}`);
    await fetchVia(binding, new Browser(), `/portal/${firm.slug}/login`, { intent: "email-link", email: "someone@example.test" });
    expect(routing.sessions.map((s) => s.constraint)).toEqual(["first-primary", "first-primary", "first-primary", "first-primary"]);
  });
});
