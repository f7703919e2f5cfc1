// SECURITY.md rule 32 across every form and API route: missing, malformed, wrong-type and oversized
// fields get a 4xx with a message (or a redirect to where the person belongs), never a 500, and change
// nothing: D1 (every table), KV (every key and value) and R2 (every object) are snapshotted before and
// after each payload and must be identical.
//
// Two kinds of payload: generic bodies that no form sends (no body, JSON, broken multipart, ...), and
// payloads made from the forms each page actually renders: the form is filled with plausible values and
// then one field at a time is made bad (missing when required, a file where text belongs, text where a
// file belongs, too long). A form with one bad field must be refused before anything is written, even
// when its other fields would, on their own, count a failed attempt or send an email.
import { describe, expect, it } from "vitest";
import {
  clientBrowser as passwordClient,
  createContact,
  createFirm,
  createPortalAccount,
  createStaff,
  PASSWORD,
  type TestFirm,
} from "../support/factories";
import { Browser, ORIGIN, signInStaff } from "../support/http";
import { emailsTo, issueLink, claim, urlTokenIn } from "../support/portal";
import { createRequest } from "../support/requests";
import { diffStorage, snapshotStorage, storageBindings, type StorageSnapshot } from "../support/snapshot";
import { enableTotp, portalOwner, staffOwner } from "../support/two-factor";

type Payload = { name: string; init: RequestInit };

function urlencoded(fields: Record<string, string>): RequestInit {
  return { method: "POST", body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } };
}

function multipart(fields: Record<string, string | Blob>): RequestInit {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return { method: "POST", body: data };
}

/** Bodies no form of the app sends. */
const GENERIC: Payload[] = [
  { name: "no body", init: { method: "POST" } },
  { name: "empty form", init: urlencoded({}) },
  { name: "unknown intent and junk fields", init: urlencoded({ intent: "drop-tables", email: "not-an-email", code: "abc", password: "", mode: "nope", reason: "" }) },
  { name: "oversized body", init: urlencoded({ intent: "x".repeat(80_000) }) },
  { name: "files where text belongs", init: multipart({ intent: new File(["x"], "x.txt"), email: new File(["a@b.c"], "e.txt"), code: new File(["1"], "c.txt") }) },
  { name: "malformed multipart", init: { method: "POST", body: "--b\r\nContent-Disposition: form-data", headers: { "content-type": "multipart/form-data; boundary=zz" } } },
  { name: "malformed urlencoded", init: { method: "POST", body: "%E0%A4%A=%%%&&=", headers: { "content-type": "application/x-www-form-urlencoded" } } },
  { name: "JSON body", init: { method: "POST", body: JSON.stringify({ intent: "continue" }), headers: { "content-type": "application/json" } } },
  { name: "PUT", init: { method: "PUT", body: "x" } },
];

// ---------------------------------------------------------------------------------------------
// The forms a page renders, read from its HTML.

type Field = { name: string; type: string; value: string; required: boolean; maxLength: number | null; options: string[] };
type PageForm = { action: string; multipart: boolean; hidden: Record<string, string>; fields: Field[]; intents: string[] };

function attr(tag: string, name: string): string | null {
  const match = new RegExp(`\\s${name}(?:="([^"]*)")?(?=[\\s/>])`, "i").exec(tag);
  if (!match) return null;
  return decodeEntities(match[1] ?? "");
}

function decodeEntities(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function formsOf(html: string, pagePath: string): PageForm[] {
  const forms: PageForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = `<form ${match[1]}>`;
    if ((attr(open, "method") ?? "get").toLowerCase() !== "post") continue;
    const body = match[2];
    const form: PageForm = {
      action: new URL(attr(open, "action") || pagePath, `${ORIGIN}${pagePath}`).pathname + new URL(attr(open, "action") || pagePath, `${ORIGIN}${pagePath}`).search,
      multipart: (attr(open, "enctype") ?? "").toLowerCase() === "multipart/form-data",
      hidden: {},
      fields: [],
      intents: [],
    };
    for (const [tag] of body.matchAll(/<(?:input|textarea|select)\b[^>]*>/gi)) {
      const name = attr(tag, "name");
      if (!name) continue;
      const element = /^<(\w+)/.exec(tag)![1].toLowerCase();
      const type = element === "input" ? (attr(tag, "type") ?? "text").toLowerCase() : element;
      if (type === "hidden") {
        form.hidden[name] = attr(tag, "value") ?? "";
        continue;
      }
      if (type === "submit") continue;
      const maxLength = attr(tag, "maxlength");
      form.fields.push({
        name,
        type,
        value: attr(tag, "value") ?? "",
        required: attr(tag, "required") !== null,
        maxLength: maxLength ? Number(maxLength) : null,
        options: [],
      });
    }
    for (const select of body.matchAll(/<select\b[^>]*\bname="([^"]+)"[^>]*>([\s\S]*?)<\/select>/gi)) {
      const field = form.fields.find((f) => f.name === select[1]);
      if (field) field.options = [...select[2].matchAll(/<option\b[^>]*\bvalue="([^"]*)"/gi)].map((o) => decodeEntities(o[1]));
    }
    for (const [tag] of body.matchAll(/<button\b[^>]*>/gi)) {
      const name = attr(tag, "name");
      if (name === "intent") form.intents.push(attr(tag, "value") ?? "");
    }
    forms.push(form);
  }
  return forms;
}

/** A value the field would accept on its own, so that only the field made bad is wrong. */
function plausible(field: Field): string | Blob {
  const name = field.name.toLowerCase();
  if (field.type === "file") return new File(["%PDF-1.4 sweep"], "sweep.pdf", { type: "application/pdf" });
  if (field.type === "select") return field.options.find((o) => o !== "") ?? field.value;
  if (field.type === "checkbox" || field.type === "radio") return field.value || "on";
  if (field.value) return field.value;
  if (field.type === "email" || name.includes("email")) return "sweep-nobody@nowhere.test";
  if (field.type === "password" || name.includes("password")) return "sweep-plausible-password-1";
  if (name.includes("code")) return "123456";
  if (field.type === "date" || name.includes("date")) return "2031-01-15";
  if (field.type === "tel" || name.includes("phone")) return "+44 20 7946 0000";
  return "Sweep value";
}

function formPayloads(form: PageForm): Payload[] {
  const payloads: Payload[] = [];
  const intents = form.intents.length ? form.intents : [null];
  for (const intent of intents) {
    const base: Record<string, string | Blob> = { ...form.hidden };
    if (intent !== null) base.intent = intent;
    for (const field of form.fields) base[field.name] = plausible(field);
    const label = `${form.action} [${intent ?? form.hidden.intent ?? "form"}]`;
    const send = (fields: Record<string, string | Blob>): RequestInit => {
      const textOnly = Object.values(fields).every((v) => typeof v === "string");
      return textOnly && !form.multipart ? urlencoded(fields as Record<string, string>) : multipart(fields);
    };
    for (const field of form.fields) {
      if (field.type === "checkbox" || field.type === "radio") continue;
      if (field.required) {
        const { [field.name]: _missing, ...rest } = base;
        payloads.push({ name: `${label} ${field.name} missing`, init: send(rest) });
      }
      if (field.type === "file") {
        payloads.push({ name: `${label} ${field.name} as text`, init: multipart({ ...base, [field.name]: "not a file" }) });
        continue;
      }
      payloads.push({ name: `${label} ${field.name} as a file`, init: multipart({ ...base, [field.name]: new File(["x"], "x.txt") }) });
      // Longer than the field allows, yet under the 64 KB form limit, so the field's own check must refuse it.
      const tooLong = Math.max((field.maxLength ?? 0) + 1, 20_000);
      const filler = field.type === "email" || field.name.toLowerCase().includes("email") ? `${"a".repeat(tooLong)}@nowhere.test` : "a".repeat(tooLong);
      payloads.push({ name: `${label} ${field.name} too long`, init: send({ ...base, [field.name]: filler }) });
      if (field.type === "select") payloads.push({ name: `${label} ${field.name} not an option`, init: send({ ...base, [field.name]: "not-an-option" }) });
      if (field.type === "email" || field.name.toLowerCase().includes("email")) {
        payloads.push({ name: `${label} ${field.name} not an address`, init: send({ ...base, [field.name]: "not an address" }) });
      }
    }
    if (form.fields.length > 0 && intent !== null) {
      payloads.push({ name: `${label} unknown intent`, init: send({ ...base, intent: `${intent}-nope` }) });
    }
  }
  return payloads;
}

// ---------------------------------------------------------------------------------------------
// The sweep.

// A session's last-seen time moves forward at most every 5 minutes on any request, whatever its body:
// that write belongs to being signed in, not to the input, and a long sweep may cross it.
const SNAPSHOT = { ignoreColumns: { sessions: ["last_seen_at"] } };

/**
 * Who sends the payloads. `paths` narrows the pages to the ones this visitor reaches (elsewhere it is
 * only redirected by the same gate); `generic: false` sends only the payloads made from the forms it sees,
 * when another visitor already sends the generic bodies to the same actions.
 */
type Visitor = { label: string; browser: () => Promise<Browser>; paths?: string[]; generic?: boolean };

type SweepResult = { requests: number; forms: number };

/**
 * For each visitor and path: read the page's forms, then send every generic and form-made payload,
 * comparing storage before and after each one. A refused request leaves the visitor's browser as it was,
 * so one browser serves every path; only a sign-out (which takes no input) needs a new one.
 */
async function sweep(paths: string[], visitors: Visitor[], options: { mayEndOwnSession?: (path: string) => boolean } = {}): Promise<SweepResult> {
  const result: SweepResult = { requests: 0, forms: 0 };
  for (const visitor of visitors) {
    let browser = await visitor.browser();
    // Each "after" is the next payload's "before": a refused request must leave storage exactly as it was.
    let before: StorageSnapshot = await snapshotStorage(SNAPSHOT);
    // A form on many pages (the sign-out button in the layout) is swept once per visitor.
    const seen = new Set<string>();
    for (const path of visitor.paths ?? paths) {
      const page = await browser.fetch(path);
      expect(page.status, `GET ${path} as ${visitor.label}`).toBeLessThan(500);
      const html = page.status === 200 && (page.headers.get("content-type") ?? "").includes("text/html") ? await page.text() : "";
      const forms = formsOf(html, path).filter((form) => {
        const key = JSON.stringify([form.action, form.intents, Object.keys(form.hidden), form.fields.map((f) => f.name)]);
        return !seen.has(key) && seen.add(key);
      });
      result.forms += forms.length;
      const payloads = [
        ...(visitor.generic === false ? [] : GENERIC).map((p) => ({ ...p, target: path, generic: true })),
        ...forms.flatMap((form) => formPayloads(form).map((p) => ({ ...p, target: form.action, generic: false }))),
      ];
      let actionless = false;
      for (const payload of payloads) {
        // A route without an action answers 405 to any body before reading it: one generic payload shows it.
        if (payload.generic && actionless) continue;
        const where = `${payload.name} → ${payload.target} as ${visitor.label}`;
        const response = await browser.fetch(payload.target, payload.init);
        result.requests++;
        expect(response.status, where).toBeLessThan(500);
        // Refused (4xx) or sent where the visitor belongs (3xx); a 2xx would mean the input was taken.
        expect(response.status, where).toBeGreaterThanOrEqual(300);
        await response.arrayBuffer();
        if (payload.generic && response.status === 405) actionless = true;
        const after = await snapshotStorage(SNAPSHOT);
        let changes = diffStorage(before, after);
        before = after;
        if (options.mayEndOwnSession?.(payload.target) && changes.length > 0) {
          // Signing out takes no input: it ends this browser's own session whatever the body says.
          changes = changes.filter((line) => !line.startsWith("D1 DB.sessions - "));
          browser = await visitor.browser();
          before = await snapshotStorage(SNAPSHOT);
        }
        expect(changes, where).toEqual([]);
      }
    }
  }
  return result;
}

const isLogout = (path: string) => /\/logout$/.test(path);

async function staffWithPendingCode(firm: TestFirm): Promise<Browser> {
  const staff = await createStaff(firm, { role: "admin" });
  await enableTotp(staffOwner(staff));
  const browser = new Browser();
  const response = await browser.post("/login", { email: staff.email, password: PASSWORD });
  if (!response.headers.get("location")?.startsWith("/login/2fa")) throw new Error(`expected the code step, got ${response.status} ${response.headers.get("location")}`);
  return browser;
}

describe("rule 32: bad input on every form and API route changes nothing", { timeout: 600_000 }, () => {
  it("the snapshot covers every storage binding the worker has", () => {
    expect(storageBindings()).toEqual({ d1: ["DB"], kv: ["LINKS"], r2: ["FILES"] });
  });

  it("staff forms and API routes (signed-in admin and member, a code step, anonymous)", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    await createPortalAccount(firm, contact);
    const { request } = await createRequest(firm, contact);
    const admin = await createStaff(firm, { role: "admin" });
    const member = await createStaff(firm, { role: "member" });
    const paths = [
      "/login",
      "/login/2fa",
      "/logout",
      "/app",
      "/app/reauthenticate",
      "/app/account",
      "/app/account/two-factor",
      "/app/contacts",
      `/app/contacts/${contact.id}`,
      `/app/contacts/${contact.id}/login-details`,
      "/app/settings/client-portal/security",
      "/app/settings/audit-log",
      "/app/requests",
      "/app/requests/new",
      `/app/requests/${request.id}`,
      "/api/v1/contacts",
      "/api/v1/requests/x",
    ];
    const result = await sweep(
      paths,
      [
        { label: "admin", browser: () => signInStaff(admin.email, PASSWORD) },
        { label: "member", browser: () => signInStaff(member.email, PASSWORD), generic: false },
        { label: "staff at the code step", browser: () => staffWithPendingCode(firm), paths: ["/login", "/login/2fa", "/logout", "/app"] },
        { label: "anonymous", browser: async () => new Browser(), paths: ["/login", "/login/2fa", "/logout", "/app/reauthenticate", `/app/contacts/${contact.id}/login-details`] },
      ],
      { mayEndOwnSession: isLogout },
    );
    // The sweep really read the forms: a broken parser would silently shrink it to the generic bodies.
    expect(result.forms).toBeGreaterThanOrEqual(12);
  });

  let fixtures = 0;
  async function portalFixture() {
    // Its own IP each time: the email-sending forms allow 3 messages per 10 minutes per IP.
    const ip = `10.7.0.${++fixtures}`;
    const firm = await createFirm();
    const contact = await createContact(firm);
    const account = await createPortalAccount(firm, contact);
    const { request, items } = await createRequest(firm, contact);
    const base = `/portal/${firm.slug}`;
    // A contact without an account, to reach the sign-up page that a valid link opens, and a live reset
    // link: a bad password on either must not use up the token.
    const newcomer = await createContact(firm);
    const since = Date.now();
    await new Browser(ip).post(`${base}/signup`, { intent: "request", email: newcomer.email });
    const signupToken = urlTokenIn((await emailsTo(newcomer.email, since))[0].textBody);
    await new Browser(ip).post(`${base}/forgot-password`, { intent: "request", email: account.email });
    const resetToken = urlTokenIn((await emailsTo(account.email, since))[0].textBody);
    const token = await issueLink(firm, contact);
    const paths = [
      base,
      `${base}/login`,
      `${base}/signup`,
      `${base}/signup?token=${signupToken}`,
      `${base}/forgot-password`,
      `${base}/forgot-password?token=${resetToken}`,
      `${base}/forgot-password?token=not-a-token`,
      `${base}/2fa`,
      `${base}/2fa/setup`,
      `${base}/recovery`,
      `${base}/account`,
      `${base}/logout`,
      `${base}/requests`,
      `${base}/requests/${request.id}`,
      `${base}/requests/${request.id}/items/${items[2].id}/upload`,
      `/l/${token}`,
      "/l/not-a-token",
      "/portal/no-such-firm/login",
    ];
    return { firm, contact, account, request, items, base, token, paths };
  }

  it("portal forms with a password session", async () => {
    const { account, paths } = await portalFixture();
    const result = await sweep(paths, [{ label: "password session", browser: () => passwordClient(account) }], { mayEndOwnSession: isLogout });
    expect(result.forms).toBeGreaterThanOrEqual(5);
  });

  it("portal forms with a link session, and anonymous visitors on the sign-in, sign-up, reset and link pages", async () => {
    const { firm, contact, request, items, base, token, paths } = await portalFixture();
    let n = 0;
    const result = await sweep(
      paths,
      [
        {
          label: "link session",
          browser: async () => {
            const other = await issueLink(firm, contact);
            return (await claim(other, new Browser(`10.8.0.${++n % 250}`))).browser;
          },
          paths: [base, `${base}/account`, `${base}/logout`, `${base}/requests/${request.id}`, `${base}/requests/${request.id}/items/${items[2].id}/upload`, `/l/${token}`],
          generic: false,
        },
        {
          label: "anonymous",
          browser: async () => new Browser(`10.9.0.${++n % 250}`),
          paths: paths.filter((p) => /\/(login|signup|forgot-password|l)\b|^\/portal\/[^/]+$/.test(p)),
        },
      ],
      { mayEndOwnSession: isLogout },
    );
    expect(result.forms).toBeGreaterThanOrEqual(8);
  });

  it("portal 2FA forms (enrolment, code step, recovery, account with 2FA on)", async () => {
    const firm = await createFirm({ securityMode: "magic_link_and_login_2fa" });
    const fresh = await createPortalAccount(firm, await createContact(firm));
    const enrolled = await createPortalAccount(firm, await createContact(firm));
    await enableTotp(portalOwner(enrolled));
    const base = `/portal/${firm.slug}`;
    const result = await sweep(
      [`${base}/2fa`, `${base}/2fa/setup`, `${base}/recovery`, `${base}/account`, `${base}/logout`],
      [
        { label: "not enrolled", browser: () => passwordClient(fresh) },
        { label: "enrolled, at the code step", browser: () => passwordClient(enrolled) },
        { label: "enrolled, code passed", browser: () => passwordClient(enrolled, { twoFactor: true }) },
      ],
      { mayEndOwnSession: isLogout },
    );
    expect(result.forms).toBeGreaterThanOrEqual(4);
  });
});
