// The worker renders each document with renderToString (entry.server.tsx). react-dom/server's browser
// entry also loads the streaming renderer (react-dom-server.browser, ~70 KiB minified) that nothing here
// calls, and evaluates it at every start-up. This stand-in loads only the renderer we use, in the same
// build (production or development) react-dom/server would pick. The files are named by path: the
// package does not export them.
import type { renderToString as RenderToString } from "react-dom/server";

declare const require: (id: string) => { renderToString: typeof RenderToString };

export const renderToString: typeof RenderToString = (
  process.env.NODE_ENV === "production"
    ? require("../../node_modules/react-dom/cjs/react-dom-server-legacy.browser.production.min.js")
    : require("../../node_modules/react-dom/cjs/react-dom-server-legacy.browser.development.js")
).renderToString;
