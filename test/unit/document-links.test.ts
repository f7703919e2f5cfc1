// The document's <link>s are written out in root.tsx instead of gathered by Remix's <Links> on every
// render (issue 14). That holds only while no route has links of its own: a route's `links` export, or
// CSS a route module imports (which Remix's Vite plugin lists per route in the manifest), would be left
// out of the page. This fails when either appears, so the shortcut cannot silently drop a style sheet.
import type { ServerBuild } from "@remix-run/cloudflare";
import { describe, expect, it } from "vitest";
import * as built from "../../build/server/index.js";
import { Browser } from "../support/http";

const build = built as unknown as ServerBuild;

describe("the document's links", () => {
  it("come from no route: no route exports `links`, and no route has CSS of its own", () => {
    const routes = Object.entries(build.routes);
    expect(routes.length).toBeGreaterThan(40);
    for (const [id, route] of routes) {
      expect(route.module, id).not.toHaveProperty("links");
      const assets = build.assets.routes[id] as { css?: string[] } | undefined;
      expect(assets?.css ?? [], id).toEqual([]);
    }
  });

  it("are in every document: the style sheet and the icon, once each", async () => {
    // A page, a firm that does not exist and a path that matches nothing: the last two render the error page.
    for (const path of ["/login", "/portal/no-such-firm/login", "/no-such-page"]) {
      const response = await new Browser().fetch(path);
      const html = await response.text();
      expect(html.match(/<link rel="stylesheet" href="\/assets\/[^"]+\.css"\/>/g), path).toHaveLength(1);
      expect(html.match(/<link rel="icon" href="\/favicon.svg" type="image\/svg\+xml"\/>/g), path).toHaveLength(1);
    }
  });
});
