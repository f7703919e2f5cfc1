// PRODUCT.md: deleting a contact deactivates their login; restoring the contact restores it.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, portalAccounts } from "../../db/schema";
import { clientBrowser, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { claim, issueLink } from "../support/portal";

describe("deleting and restoring a contact", () => {
  it("deactivates the login, ends sessions and links; restoring brings the same login back", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm, { name: "Della Deleted" });
    const account = await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const client = await clientBrowser(account);
    const unused = await issueLink(firm, contact);
    const admin = await signInStaff((await createStaff(firm, { role: "admin" })).email, PASSWORD);

    expect((await admin.post(`/app/contacts/${contact.id}`, { intent: "delete" })).status).toBe(200);
    const [deactivated] = await db.select().from(portalAccounts).where(eq(portalAccounts.id, account.id));
    expect(deactivated.deactivatedAt).not.toBeNull();
    expect((await client.fetch(`${base}/requests`)).status).toBe(302);
    expect((await new Browser().post(`${base}/login`, { email: contact.email, password: PASSWORD })).status).toBe(401);
    expect((await claim(unused)).response.status).toBe(410);
    expect(await (await admin.fetch("/app/contacts")).text()).not.toContain("Della Deleted");
    expect(await (await admin.fetch("/app/contacts?show=deleted")).text()).toContain("Della Deleted");
    expect(await (await admin.fetch(`/app/contacts/${contact.id}`)).text()).toContain("Restore contact");
    expect((await admin.post(`/app/contacts/${contact.id}`, { intent: "send-link" })).status).toBe(409);

    expect((await admin.post(`/app/contacts/${contact.id}`, { intent: "restore" })).status).toBe(200);
    const signIn = await new Browser().post(`${base}/login`, { email: contact.email, password: PASSWORD });
    expect(signIn.headers.get("location")).toBe(`${base}/requests`);
    const types = (await db.select().from(auditEvents).where(eq(auditEvents.contactId, contact.id))).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["contact.deleted", "contact.restored"]));
  });

  it("members cannot delete or restore (403), and another firm's admin gets 404", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const member = await signInStaff((await createStaff(firm, { role: "member" })).email, PASSWORD);
    expect((await member.post(`/app/contacts/${contact.id}`, { intent: "delete" })).status).toBe(403);
    const other = await createFirm();
    const stranger = await signInStaff((await createStaff(other, { role: "admin" })).email, PASSWORD);
    expect((await stranger.post(`/app/contacts/${contact.id}`, { intent: "delete" })).status).toBe(404);
    expect(await (await member.fetch(`/app/contacts/${contact.id}`)).text()).not.toContain("This contact was deleted");
  });
});
