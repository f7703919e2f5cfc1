// SECURITY.md rule 20: another firm's ids answer 404 and change nothing.
import { describe, expect, it } from "vitest";
import { createContact, createFirm, createStaff, PASSWORD } from "../support/factories";
import { signInStaff } from "../support/http";

describe("rule 20: tenant isolation on the contacts routes", () => {
  it("staff of firm A see only firm A's contacts and get 404 for firm B's contact", async () => {
    const firmA = await createFirm();
    const firmB = await createFirm();
    const mine = await createContact(firmA, { name: "Alice Mine" });
    const theirs = await createContact(firmB, { name: "Bob Theirs" });
    const staff = await createStaff(firmA, { role: "admin" });
    const browser = await signInStaff(staff.email, PASSWORD);

    const list = await (await browser.fetch("/app/contacts")).text();
    expect(list).toContain("Alice Mine");
    expect(list).not.toContain("Bob Theirs");
    expect(list).not.toContain(theirs.id);

    expect((await browser.fetch(`/app/contacts/${mine.id}`)).status).toBe(200);
    const other = await browser.fetch(`/app/contacts/${theirs.id}`);
    expect(other.status).toBe(404);
    expect(await other.text()).not.toContain("Bob Theirs");
    const search = await (await browser.fetch(`/app/contacts?q=${encodeURIComponent("Bob Theirs")}`)).text();
    expect(search).not.toContain(theirs.id);
    expect(search).toContain("No contacts match.");
  });
});
