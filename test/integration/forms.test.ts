// One way to answer a form (docs/decisions/016-forms.md): every page with several forms or buttons
// parses them as a union on `intent`, so a post the page never makes gets a clear 400, with the same
// answer shape (`ok: false`, `formError`, `fieldErrors`) as any refused form, and changes nothing.
import { describe, expect, it } from "vitest";
import { createContact, createFirm, createPortalAccount, createStaff, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { firmWithEveryone } from "../support/requests";
import { diffStorage, snapshotStorage } from "../support/snapshot";

/** The action's JSON answer, as Remix's client fetches it (`?_data=` names the route). */
async function postForData(browser: Browser, path: string, route: string, form: Record<string, string>) {
  const response = await browser.post(`${path}?_data=${encodeURIComponent(route)}`, form);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const BUTTONS = "Use one of the buttons on this page.";

describe("multi-form pages parse `intent` as a discriminated union", () => {
  it("an unknown intent is a 400 with the page's sentence, on every such page, and changes nothing", async () => {
    const { contact, request, staff, client, anonymous, portal } = await firmWithEveryone("203.0.113.77");

    const pages: Array<[Browser, string, string, string]> = [
      [staff, `/app/contacts/${contact.id}`, "routes/app.contacts.$contactId", BUTTONS],
      [staff, `/app/contacts/${contact.id}/login-details`, "routes/app.contacts.$contactId_.login-details", "Use one of the forms on this page."],
      [staff, "/app/contacts/invite", "routes/app.contacts.invite", "Use the button on this page."],
      [staff, `/app/requests/${request.id}`, "routes/app.requests.$requestId", BUTTONS],
      [staff, "/app/settings/client-portal/security", "routes/app.settings.client-portal.security", BUTTONS],
      [anonymous, `${portal}/login`, "routes/portal.$firmSlug.login", BUTTONS],
      [anonymous, `${portal}/forgot-password`, "routes/portal.$firmSlug.forgot-password", "Use the form on this page."],
      [anonymous, `${portal}/signup`, "routes/portal.$firmSlug.signup", "Use the form on this page."],
      [client, `${portal}/account`, "routes/portal.$firmSlug.account", BUTTONS],
      [client, `${portal}/requests/${request.id}`, "routes/portal.$firmSlug.requests.$requestId", "Use the buttons on this page."],
    ];
    for (const [browser, path, route, sentence] of pages) {
      // Fields every form of these pages knows, filled validly: only the intent is wrong.
      const form = { intent: "drop-everything", email: contact.email, password: "a long enough passphrase", mode: "magic_link_only", confirm: "yes" };
      const before = await snapshotStorage({ ignoreColumns: { sessions: ["last_seen_at"] } });
      const answer = await postForData(browser, path, route, form);
      expect(answer.status, path).toBe(400);
      // Pages may send back more (login details: which form was used); the refusal reads the same everywhere.
      expect(answer.body, path).toMatchObject({ ok: false, formError: sentence, fieldErrors: {} });
      const after = await snapshotStorage({ ignoreColumns: { sessions: ["last_seen_at"] } });
      expect(diffStorage(before, after), path).toEqual([]);
    }
  });

  it("a known intent with bad fields is a 422 naming the fields, and a refusal from the server keeps its status", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const admin = await createStaff(firm, { role: "admin" });
    const staff = await signInStaff(admin.email, PASSWORD);
    const path = `/app/contacts/${contact.id}/login-details`;
    const route = "routes/app.contacts.$contactId_.login-details";

    const bad = await postForData(staff, path, route, { intent: "deactivate-2fa", reason: "", confirm: "no" });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ ok: false, formError: "Please correct the highlighted fields.", intent: "deactivate-2fa" });
    expect(Object.keys(bad.body.fieldErrors as object).sort()).toEqual(["confirm", "reason"]);

    // The server function refuses (2FA is not on): its status and words, in the same shape.
    const refused = await postForData(staff, path, route, { intent: "deactivate-2fa", reason: "Lost phone", confirm: "yes" });
    expect(refused).toEqual({
      status: 409,
      body: { ok: false, formError: "Two-factor authentication is not on for this client.", fieldErrors: {}, intent: "deactivate-2fa" },
    });

    const done = await postForData(staff, path, route, { intent: "sign-out", confirm: "yes" });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ ok: true, intent: "sign-out" });
  });
});
