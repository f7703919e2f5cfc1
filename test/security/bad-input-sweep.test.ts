// SECURITY.md rule 32 across every form: missing, malformed, wrong-type and oversized fields get a 4xx
// with a message (or a redirect to where the person belongs), never a 500, and change nothing they shouldn't.
import { describe, expect, it } from "vitest";
import { clientBrowser as passwordClient, createContact, createFirm, createPortalAccount, createStaff, PASSWORD } from "../support/factories";
import { Browser, signInStaff } from "../support/http";
import { issueLink } from "../support/portal";
import { createRequest } from "../support/requests";

type Payload = { name: string; init: RequestInit };

function form(fields: Record<string, string | Blob>): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return data;
}

const PAYLOADS: Payload[] = [
  { name: "no body", init: { method: "POST" } },
  { name: "empty form", init: { method: "POST", body: new URLSearchParams({}).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } } },
  {
    name: "unknown intent and junk fields",
    init: {
      method: "POST",
      body: new URLSearchParams({ intent: "drop-tables", email: "not-an-email", code: "abc", password: "", mode: "nope", reason: "" }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    },
  },
  {
    name: "oversized field",
    init: { method: "POST", body: new URLSearchParams({ intent: "x".repeat(80_000) }).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } },
  },
  { name: "files where text belongs", init: { method: "POST", body: form({ intent: new File(["x"], "x.txt"), email: new File(["a@b.c"], "e.txt"), code: new File(["1"], "c.txt") }) } },
  { name: "malformed multipart", init: { method: "POST", body: "--b\r\nContent-Disposition: form-data", headers: { "content-type": "multipart/form-data; boundary=zz" } } },
  { name: "JSON body", init: { method: "POST", body: JSON.stringify({ intent: "continue" }), headers: { "content-type": "application/json" } } },
];

describe("rule 32: bad input on every form never gives a 500", () => {
  it("staff forms (an admin signed in, re-authenticated recently)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const { request } = await createRequest(firm, contact);
    const admin = await createStaff(firm, { role: "admin" });
    const paths = [
      "/login",
      "/login/2fa",
      "/logout",
      "/app/reauthenticate",
      "/app/account",
      "/app/account/two-factor",
      `/app/contacts/${contact.id}`,
      `/app/contacts/${contact.id}/login-details`,
      "/app/settings/client-portal/security",
      "/app/requests/new",
      `/app/requests/${request.id}`,
    ];
    for (const path of paths) {
      const browser = await signInStaff(admin.email, PASSWORD);
      for (const payload of PAYLOADS) {
        const response = await browser.fetch(path, payload.init);
        expect(response.status, `${payload.name} → ${path}`).toBeLessThan(500);
      }
    }
  });

  it("portal forms (a client with a password session, and anonymous visitors)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const { request, items } = await createRequest(firm, contact);
    const token = await issueLink(firm, contact);
    const base = `/portal/${firm.slug}`;
    const paths = [
      base,
      `${base}/login`,
      `${base}/signup`,
      `${base}/forgot-password`,
      `${base}/2fa`,
      `${base}/2fa/setup`,
      `${base}/recovery`,
      `${base}/account`,
      `${base}/logout`,
      `${base}/requests/${request.id}`,
      `${base}/requests/${request.id}/items/${items[2].id}/upload`,
      `/l/${token}`,
      `/l/not-a-token`,
      "/portal/no-such-firm/login",
    ];
    for (const path of paths) {
      for (const payload of PAYLOADS) {
        for (const browser of [await passwordClient(account), new Browser(`10.9.${Math.floor(Math.random() * 250)}.1`)]) {
          const response = await browser.fetch(path, payload.init);
          expect(response.status, `${payload.name} → ${path}`).toBeLessThan(500);
        }
      }
    }
  });
});
