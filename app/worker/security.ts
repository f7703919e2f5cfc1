// Web-layer protections applied to every response of the worker (SECURITY.md rules 28 and 29).
import type { MiddlewareHandler } from "hono";
import { encodeBase64 } from "@oslojs/encoding";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses cross-site writes whatever their Content-Type: browsers label every request with
 * Sec-Fetch-Site and send Origin on POST, so a forged form or fetch from another site is visible
 * even when it is a "simple" request that CORS would not preflight.
 */
export function isCrossSiteWrite(request: Request): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return true;
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== new URL(request.url).origin) return true;
  return false;
}

export function newNonce(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
}

export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join("; ");
}

export const crossSiteWriteGuard: MiddlewareHandler = async (c, next) => {
  if (isCrossSiteWrite(c.req.raw)) {
    return c.text("Cross-site requests are not allowed.", 403);
  }
  await next();
};

/**
 * Whether the URL carries a secret token: a magic link (/l/<token>, routes match in any case) or any
 * query parameter named like a token (reset and verification links use ?token=). Decided here, for
 * every response, so a future token page cannot forget it (SECURITY.md rule 6).
 */
export function urlCarriesToken(url: URL): boolean {
  if (/^\/l\//i.test(url.pathname)) return true;
  for (const name of url.searchParams.keys()) if (/token/i.test(name)) return true;
  return false;
}

/**
 * The response itself when its headers may be edited (a page Remix rendered), else a copy: a response
 * from fetch() or Response.redirect() has immutable headers. Copying every response cost a Response a
 * page view (issue 14).
 */
function editable(response: Response): Response {
  // Setting a header is how to learn whether they are immutable; it is one of the headers set below anyway.
  try {
    response.headers.set("X-Content-Type-Options", "nosniff");
    return response;
  } catch {
    return new Response(response.body, response);
  }
}

/** Headers every dynamic response carries. Authenticated or not, nothing here is cacheable. */
export function securityHeaders(): MiddlewareHandler<{ Variables: { nonce: string } }> {
  return async (c, next) => {
    await next();
    const res = editable(c.res);
    res.headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    res.headers.set("Content-Security-Policy", contentSecurityPolicy(c.get("nonce")));
    res.headers.set("X-Content-Type-Options", "nosniff");
    res.headers.set("X-Frame-Options", "DENY");
    res.headers.set("Cross-Origin-Opener-Policy", "same-origin");
    res.headers.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if (urlCarriesToken(new URL(c.req.url))) {
      // The token must not leave in a Referer (to a linked site, or any resource the page loads) nor
      // stay in a cache; this overrides whatever the route said.
      res.headers.set("Referrer-Policy", "no-referrer");
      res.headers.set("Cache-Control", "no-store");
    } else {
      if (!res.headers.has("Referrer-Policy")) res.headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
      if (!res.headers.has("Cache-Control")) res.headers.set("Cache-Control", "no-store");
    }
    // hono's c.res setter copies the response again: only a copy needs to be handed back.
    if (res !== c.res) c.res = res;
  };
}
