// A page's loader data reaches the browser the same way on both of Remix's paths (issue 14; the server
// runtime's patch, ADR 024). A document hands plain loader data to the render as it is, and writes it
// into the page's handoff as JSON; a client-side navigation (`?_data=`) still gets it as a JSON Response.
// Hydration needs both to be the same data, so every page family is loaded both ways and compared.
import { describe, expect, it } from "vitest";
import type { Browser } from "../support/http";
import { createContact } from "../support/factories";
import { firmWithEveryone } from "../support/requests";

type Handoff = { state: { loaderData: Record<string, unknown> } };

/** The loader data a document's handoff script carries (`window.__remixContext`). */
function handoffOf(html: string): Handoff {
  const script = /window\.__remixContext = (\{.*?\});<\/script>/s.exec(html);
  if (!script) throw new Error("the document has no Remix handoff");
  return JSON.parse(script[1]) as Handoff;
}

/**
 * The two loads are two requests, and some data is the request's own clock (an adoption chart's week
 * starts, as epoch milliseconds): such numbers are compared as numbers, not by value.
 */
function withoutClock(value: unknown): unknown {
  if (typeof value === "number" && value > 1.5e12) return "epoch ms";
  if (Array.isArray(value)) return value.map(withoutClock);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutClock(v)]));
  return value;
}

/**
 * Large values a loader sends more than twice: a value the page needs once but repeats (on every row of a
 * list, say) is written into every document and every navigation's JSON that many times.
 */
function repeatedValues(data: unknown, minLength = 64): string[] {
  const counts = new Map<string, number>();
  const visit = (value: unknown) => {
    const text = typeof value === "string" ? value : value && typeof value === "object" ? JSON.stringify(value) : "";
    if (text.length >= minLength) counts.set(text, (counts.get(text) ?? 0) + 1);
    if (value && typeof value === "object") for (const child of Object.values(value)) visit(child);
  };
  visit(data);
  return [...counts].filter(([, n]) => n > 2).map(([text, n]) => `${n}x ${text.slice(0, 80)}`);
}

async function bothWays(browser: Browser, path: string): Promise<{ routes: string[] }> {
  const document = await browser.fetch(path);
  expect(document.status, path).toBe(200);
  const { loaderData } = handoffOf(await document.text()).state;
  for (const [route, data] of Object.entries(loaderData)) expect(repeatedValues(data), `${path} ${route}`).toEqual([]);
  // A route without a loader (the root) is listed with null data and answers no data request.
  const routes = Object.keys(loaderData).filter((route) => loaderData[route] !== null);
  for (const route of routes) {
    const separator = path.includes("?") ? "&" : "?";
    const data = await browser.fetch(`${path}${separator}_data=${encodeURIComponent(route)}`);
    expect(data.status, `${path} ${route}`).toBe(200);
    expect(data.headers.get("content-type"), `${path} ${route}`).toMatch(/^application\/json/);
    expect(withoutClock(await data.json()), `${path} ${route}`).toEqual(withoutClock(loaderData[route]));
  }
  return { routes };
}

describe("repeatedValues", () => {
  it("finds a large value sent three times or more, and nothing else", () => {
    const big = "x".repeat(64);
    expect(repeatedValues({ rows: [big, big, big] })).toEqual([`3x ${big}`]);
    expect(repeatedValues({ rows: [{ a: big }, { a: big }, { b: big }] })).toEqual([`3x ${big}`]);
    expect(repeatedValues({ rows: [{ a: big }, { a: big }] })).toEqual([]);
    expect(repeatedValues({ rows: [{ a: "short" }, { a: "short" }, { a: "short" }] })).toEqual([]);
    const row = { id: "same", text: "y".repeat(60) };
    expect(repeatedValues([row, row, row])).toHaveLength(1);
  });
});

describe("loader data on a document and on a client-side navigation", () => {
  it("is the same JSON both ways, on every page family, signed in or not", async () => {
    const { firm, contact, request, staff, client, anonymous, portal } = await firmWithEveryone("203.0.113.91");
    // Lists of several rows, so that a value repeated on every row shows (repeatedValues).
    for (let i = 0; i < 3; i++) await createContact(firm);

    const pages: Array<[Browser, string]> = [
      [staff, "/app/contacts"],
      [staff, "/app/contacts?q=a&sort=name&dir=desc"],
      [staff, `/app/contacts/${contact.id}`],
      [staff, `/app/contacts/${contact.id}/edit`],
      [staff, `/app/contacts/${contact.id}/login-details`],
      [staff, "/app/contacts/new"],
      [staff, `/app/contacts/invite?scope=selected&contact=${contact.id}`],
      [staff, "/app/contacts/import"],
      [staff, "/app/requests"],
      [staff, `/app/requests/${request.id}`],
      [staff, "/app/requests/new"],
      [staff, "/app/settings/api-keys"],
      [staff, "/app/settings/audit-log"],
      [staff, "/app/settings/client-portal/security"],
      [staff, "/app/account"],
      [client, `${portal}/requests`],
      [client, `${portal}/requests/${request.id}`],
      [client, `${portal}/account`],
      [anonymous, `${portal}/login`],
      [anonymous, `${portal}/signup`],
      [anonymous, `${portal}/forgot-password`],
      [anonymous, `${portal}/help/two-factor`],
      [anonymous, "/login"],
    ];
    const seen = new Set<string>();
    for (const [browser, path] of pages) {
      for (const route of (await bothWays(browser, path)).routes) seen.add(route);
    }
    // The layouts' loaders ran on these pages too, not only the leaves'.
    for (const route of ["routes/app", "routes/portal.$firmSlug", "routes/portal.$firmSlug.requests._index", "routes/app.contacts._index"]) {
      expect(seen).toContain(route);
    }
  });
});
