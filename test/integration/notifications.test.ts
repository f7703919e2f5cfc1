// Client notifications (issue 5): sign-in from a new device; the others are asserted where they happen
// (password change: portal-modes, 2FA reset and login email change: login-details, recovery: client-two-factor).
import { describe, expect, it } from "vitest";
import { createContact, createFirm, createPortalAccount, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";
import { emailsTo } from "../support/portal";

async function signIn(base: string, email: string, browser: Browser) {
  const response = await browser.post(`${base}/login`, { email, password: PASSWORD });
  expect(response.status).toBe(302);
  return response;
}

describe("sign-in from a new device", () => {
  it("emails the client when a browser they never signed in from signs in, and not for their usual browser", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const base = `/portal/${firm.slug}`;
    const usual = new Browser("198.51.100.10");
    const since = Date.now();
    await signIn(base, contact.email, usual); // first ever sign-in: nothing to compare with, no email
    await signIn(base, contact.email, usual); // same browser (device cookie kept): no email
    // emailsTo reads after the work done after each response (the new-device check) has finished.
    expect(await emailsTo(contact.email, since)).toHaveLength(0);
    expect(usual.cookies.has("__Host-device")).toBe(true);

    const stranger = new Browser("203.0.113.66");
    await signIn(base, contact.email, stranger);
    const [email] = await emailsTo(contact.email, since);
    expect(email.subject).toContain("new sign-in to your account");
    expect(email.textBody).toContain("203.0.113.66");
  });
});
