// Route matching on the server (issue 14; patches/@remix-run+router, ADR 021): react-router flattened,
// ranked and compiled every route on each match, three times a page view. The patch keeps a route tree's
// ranked branches once the server has matched against it, and compiled paths by pattern. The server
// runtime's patch is tested at the end.
import { matchPath, matchRoutes, type AgnosticRouteObject as RouteObject } from "@remix-run/router";
import { createStaticHandler } from "@remix-run/router";
import { createStaticRouter } from "react-router-dom/server";
import { describe, expect, it } from "vitest";

/** A route tree that counts how often matching walks its top level. */
function countingTree(routes: RouteObject[]): { routes: RouteObject[]; walks: () => number } {
  let walks = 0;
  const proxy = new Proxy(routes, {
    get(target, key, receiver) {
      if (key === "forEach") walks++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { routes: proxy, walks: () => walks };
}

const tree = (): RouteObject[] => [
  {
    id: "portal",
    path: "portal/:firmSlug",
    children: [
      { id: "requests", path: "requests" },
      { id: "request", path: "requests/:requestId" },
      { id: "login", path: "login" },
    ],
  },
  { id: "app", path: "app", children: [{ id: "contacts", path: "contacts" }, { id: "contact", path: "contacts/:contactId" }] },
  { id: "splat", path: "*" },
];

describe("route matching on the server", () => {
  it("ranks a route tree once, then matches every path against the kept ranking", () => {
    const { routes, walks } = countingTree(tree());
    const first = matchRoutes(routes, "/portal/acme/requests/r1");
    expect(walks()).toBe(1);
    for (let i = 0; i < 5; i++) matchRoutes(routes, `/portal/acme/requests/r${i}`);
    matchRoutes(routes, "/app/contacts");
    expect(walks()).toBe(1);
    expect(first?.map((m) => m.route.id)).toEqual(["portal", "request"]);
  });

  it("matches exactly as before: params, ranking, splats, no match", () => {
    const routes = tree();
    for (let round = 0; round < 2; round++) {
      expect(matchRoutes(routes, "/portal/acme/requests/r1")?.at(-1)?.params).toEqual({ firmSlug: "acme", requestId: "r1" });
      expect(matchRoutes(routes, "/portal/other/requests")?.map((m) => m.route.id)).toEqual(["portal", "requests"]);
      expect(matchRoutes(routes, "/app/contacts/c9")?.at(-1)?.params).toEqual({ contactId: "c9" });
      expect(matchRoutes(routes, "/nowhere/at/all")?.map((m) => m.route.id)).toEqual(["splat"]);
      expect(matchRoutes(routes.slice(0, 2), "/nowhere")).toBeNull();
      // Each request's own values, never a previous request's: the kept parts are the patterns.
      const a = matchRoutes(routes, "/portal/a/requests/1")!;
      const b = matchRoutes(routes, "/portal/b/requests/2")!;
      expect(a.at(-1)!.params).toEqual({ firmSlug: "a", requestId: "1" });
      expect(b.at(-1)!.params).toEqual({ firmSlug: "b", requestId: "2" });
      expect(a.at(-1)!.params).not.toBe(b.at(-1)!.params);
    }
  });

  it("only tries branches whose first segment can match, and still finds what the full ranking finds", () => {
    const routes: RouteObject[] = [
      {
        id: "root",
        path: "",
        children: [
          { id: "home", index: true },
          { id: "portal", path: "portal/:firmSlug", children: [{ id: "portal-home", index: true }, { id: "files", path: "files/:fileId?" }] },
          { id: "app", path: "app", children: [{ id: "settings", path: "Settings" }, { id: "contact", path: "contacts/:id", caseSensitive: true }] },
          { id: "login", path: "login/*" },
          { id: "security-txt", path: ".well-known/security.txt" },
          { id: "not-found", path: "*" },
        ],
      },
    ];
    const leaf = (path: string) => matchRoutes(routes, path)?.at(-1);
    const cases: Array<[string, string, Record<string, string>?]> = [
      ["/", "home"],
      ["/PORTAL/acme", "portal-home", { firmSlug: "acme" }],
      ["/portal/acme/files", "files", { firmSlug: "acme" }],
      ["/portal/acme/files/f1", "files", { firmSlug: "acme", fileId: "f1" }],
      ["/App/settings", "settings"],
      ["/app/contacts/c1", "contact", { id: "c1" }],
      ["/app/Contacts/c1", "not-found"],
      ["/login/anything/at/all", "login", { "*": "anything/at/all" }],
      ["/.well-known/security.txt", "security-txt"],
      ["//portal/acme", "not-found"],
      ["/portal", "not-found"],
      ["/nowhere", "not-found"],
      ["/%70ortal/acme", "portal-home", { firmSlug: "acme" }],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [path, id, params] of cases) {
        expect(leaf(path)?.route.id, path).toBe(id);
        if (params) expect(leaf(path)?.params, path).toEqual(params);
      }
    }
  });

  it("keeps a path's matches, but each call gets its own: what one request changes never reaches the next", () => {
    const routes = tree();
    const first = matchRoutes(routes, "/portal/acme/requests/r1")!;
    // Params are typed read-only, but nothing stops a loader from writing to them.
    const params = first[1].params as Record<string, string>;
    params.firmSlug = "someone-else";
    params.injected = "yes";
    first[1].pathname = "/elsewhere";
    first.pop();
    const second = matchRoutes(routes, "/portal/acme/requests/r1")!;
    expect(second.map((m) => m.route.id)).toEqual(["portal", "request"]);
    expect(second[1].params).toEqual({ firmSlug: "acme", requestId: "r1" });
    expect(second[1].pathname).toBe("/portal/acme/requests/r1");
    // Within one call every match shares one params object, as react-router gives it.
    expect(second[0].params).toBe(second[1].params);
    expect(second[0].params).not.toBe(first[0].params);
  });

  it("a kept compiled path still honours case sensitivity and the end flag", () => {
    expect(matchPath({ path: "/Files/:id", caseSensitive: true }, "/files/1")).toBeNull();
    expect(matchPath({ path: "/Files/:id", caseSensitive: false }, "/files/1")?.params).toEqual({ id: "1" });
    expect(matchPath({ path: "/files", end: false }, "/files/1/more")?.pathnameBase).toBe("/files");
    expect(matchPath({ path: "/files", end: true }, "/files/1/more")).toBeNull();
  });
});

describe("the server render's router", () => {
  it("gives the same data routes for the same route tree, so the render's match keeps its ranking too", async () => {
    const routes = tree();
    const handler = createStaticHandler(routes);
    const context = await handler.query(new Request("http://portal.test/portal/acme/requests"));
    if (context instanceof Response) throw new Error("expected a context");
    const first = createStaticRouter(routes, context);
    const second = createStaticRouter(routes, context);
    expect(second.routes).toBe(first.routes);
    // Each render still gets its own state: the request's matches and location.
    const other = await handler.query(new Request("http://portal.test/app/contacts/c1"));
    if (other instanceof Response) throw new Error("expected a context");
    const third = createStaticRouter(routes, other);
    expect(third.routes).toBe(first.routes);
    expect(third.state.location.pathname).toBe("/app/contacts/c1");
    expect(first.state.location.pathname).toBe("/portal/acme/requests");
    expect(third.state.matches.at(-1)?.route.id).toBe("contact");
  });
});

describe("the document's route modules (patches/@remix-run+server-runtime)", () => {
  it("are one frozen object per build's routes, not rebuilt for every document", async () => {
    const { createEntryRouteModules } = (await import("@remix-run/server-runtime/dist/entry.js")) as unknown as {
      createEntryRouteModules: (manifest: Record<string, { module: unknown }>) => Record<string, unknown>;
    };
    const root = { default: () => null };
    const page = { default: () => null, loader: () => null };
    const routes = { root: { module: root }, "routes/page": { module: page } };
    const first = createEntryRouteModules(routes);
    expect(first).toEqual({ root, "routes/page": page });
    expect(createEntryRouteModules(routes)).toBe(first);
    // Shared by every request, so nothing may change it.
    expect(Object.isFrozen(first)).toBe(true);
    // Another build (a dev rebuild) gets its own.
    expect(createEntryRouteModules({ ...routes })).not.toBe(first);
  });
});

describe("the request a loader or action gets (patches/@remix-run+server-runtime)", () => {
  type Call = (args: {
    loadContext: unknown;
    params: Record<string, string>;
    request: Request;
    routeId: string;
    singleFetch: boolean;
    loader?: (args: { request: Request }) => unknown;
    action?: (args: { request: Request }) => unknown;
  }) => Promise<unknown>;

  async function seen(call: "callRouteLoader" | "callRouteAction", request: Request, singleFetch = false): Promise<Request> {
    // The ES module build, which the worker bundles (the CommonJS one does not load in workerd); it ships
    // no type declarations.
    // @ts-expect-error -- no .d.ts beside dist/esm/data.js
    const data = (await import("@remix-run/server-runtime/dist/esm/data.js")) as unknown as Record<string, Call>;
    let got: Request | undefined;
    const handler = ({ request }: { request: Request }) => {
      got = request;
      return null;
    };
    await data[call]({ loadContext: {}, params: {}, request, routeId: "routes/page", singleFetch, loader: handler, action: handler });
    return got!;
  }

  it("is the request itself when there is no Remix parameter to strip (no copy per loader)", async () => {
    for (const url of ["https://portal.test/app/contacts", "https://portal.test/app/contacts?q=a%20b&sort=name", "https://portal.test/l/tok?indexed=1"]) {
      const request = new Request(url, { headers: { cookie: "a=b" } });
      expect(await seen("callRouteLoader", request)).toBe(request);
      expect(await seen("callRouteLoader", request, true)).toBe(request);
    }
    const post = new Request("https://portal.test/app/contacts/new", { method: "POST", body: "name=x" });
    const got = await seen("callRouteAction", post);
    expect(got).toBe(post);
    expect(await got.text()).toBe("name=x");
  });

  it("still strips Remix's own parameters, keeping everything else", async () => {
    const cases: [string, string, boolean][] = [
      ["https://portal.test/app?index", "https://portal.test/app", false],
      ["https://portal.test/app?index=&q=1", "https://portal.test/app?q=1", false],
      ["https://portal.test/app?index=keep", "https://portal.test/app?index=keep", false],
      ["https://portal.test/app/contacts?_data=routes%2Fapp.contacts._index&q=x", "https://portal.test/app/contacts?q=x", false],
      ["https://portal.test/app/contacts?_routes=routes%2Fapp&q=x", "https://portal.test/app/contacts?q=x", true],
      ["https://portal.test/app?%69ndex", "https://portal.test/app", false],
    ];
    for (const [url, expected, singleFetch] of cases) {
      const request = new Request(url, { headers: { cookie: "a=b" } });
      const got = await seen("callRouteLoader", request, singleFetch);
      expect(new URL(got.url).href).toBe(expected);
      expect(got.headers.get("cookie")).toBe("a=b");
    }
    const post = new Request("https://portal.test/app?index", { method: "POST", body: "x=1" });
    const got = await seen("callRouteAction", post);
    expect(got.url).toBe("https://portal.test/app");
    expect(await got.text()).toBe("x=1");
  });
});

describe("a loader's data on a document request (patches/@remix-run+server-runtime)", () => {
  type Data = {
    callRouteLoader: (args: { loadContext: unknown; params: object; request: Request; routeId: string; singleFetch: boolean; loader: () => unknown }) => Promise<unknown>;
    markDocumentRequest: (request: Request) => void;
  };
  async function load(value: unknown, document: boolean): Promise<unknown> {
    // @ts-expect-error -- no .d.ts beside dist/esm/data.js
    const data = (await import("@remix-run/server-runtime/dist/esm/data.js")) as unknown as Data;
    const request = new Request("https://portal.test/portal/acme/requests");
    if (document) data.markDocumentRequest(request);
    return data.callRouteLoader({ loadContext: {}, params: {}, request, routeId: "routes/page", singleFetch: false, loader: () => value });
  }

  it("hands plain JSON data to the render as it is, with no Response to build and read back", async () => {
    const plain: unknown[] = [
      { firm: { name: "Acme & Co", slug: "acme" }, signedIn: true, count: 0, ratio: 0.25, none: null, list: [1, "two", false, null, { deep: [[]] }] },
      [],
      {},
      null,
      "text",
      42,
      Object.assign(Object.create(null) as object, { a: 1 }),
    ];
    for (const value of plain) expect(await load(value, true)).toBe(value);
  });

  it("still turns anything JSON would change into JSON, so the render sees what the browser hydrates with", async () => {
    class Money {
      constructor(public cents: number) {}
    }
    const cases: unknown[] = [
      { at: new Date("2026-11-30T08:00:00Z") },
      { rows: [{ id: "a", createdAt: new Date(0) }] },
      { error: undefined },
      [1, undefined, 3],
      // eslint-disable-next-line no-sparse-arrays
      [1, , 3],
      { n: Number.NaN },
      { n: Infinity },
      { n: -0 },
      { map: new Map([["a", 1]]) },
      { set: new Set([1]) },
      { money: new Money(100) },
      { own: { toJSON: () => "custom" } },
      { fn: () => 1 },
      { when: new Date(0), nested: { list: [{ ok: true }, { bad: undefined }] } },
      new URLSearchParams("a=1"),
    ];
    for (const value of cases) {
      const result = await load(value, true);
      expect(result, JSON.stringify(value) ?? String(value)).toBeInstanceOf(Response);
      expect(await (result as Response).json()).toEqual(JSON.parse(JSON.stringify(value)));
    }
    // Data nested deeper than any page's takes the JSON path too, and is still answered.
    let deep: unknown = "end";
    for (let i = 0; i < 100; i++) deep = { next: deep };
    expect(await load(deep, true)).toBeInstanceOf(Response);
  });

  it("fails as before on data JSON cannot carry, instead of hanging or passing it on", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(load(cyclic, true)).rejects.toThrow(TypeError);
    await expect(load({ big: 1n }, true)).rejects.toThrow(TypeError);
  });

  it("answers a client-side navigation (`?_data=`) or a resource route with a JSON Response, as before", async () => {
    const value = { firm: { name: "Acme" } };
    const result = await load(value, false);
    expect(result).toBeInstanceOf(Response);
    expect((result as Response).headers.get("content-type")).toMatch(/^application\/json/);
    expect(await (result as Response).json()).toEqual(value);
    const response = new Response("x", { status: 201 });
    expect(await load(response, true)).toBe(response);
  });
});
