// The document is rendered to one string, not streamed (issue 14). No page defers data or suspends, so
// a stream had nothing to send early: the whole page was ready at once either way, and the streaming
// renderer's chunking and encoding cost about a sixth of a page view's throughput in the bench. If a page
// ever defers data, that page needs renderToReadableStream again.
import type { AppLoadContext, EntryContext } from "@remix-run/cloudflare";
import { RemixServer } from "@remix-run/react";
import { renderToString } from "react-dom/server";
import { NonceContext } from "./nonce";

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  // A render error throws here; Remix then renders the error boundary the same way.
  const html = renderToString(
    <NonceContext.Provider value={loadContext.nonce}>
      <RemixServer context={remixContext} url={request.url} />
    </NonceContext.Provider>,
  );
  responseHeaders.set("Content-Type", "text/html; charset=utf-8");
  return new Response(`<!DOCTYPE html>${html}`, { headers: responseHeaders, status: responseStatusCode });
}

// The hono app around Remix, exported so that app/worker.ts takes it from this bundle (ADR 023).
export { createWorker } from "./worker/app";
