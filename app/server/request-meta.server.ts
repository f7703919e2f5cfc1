/**
 * The client IP as Cloudflare saw it. Only CF-Connecting-IP: X-Forwarded-For is set by the client
 * and would let anyone step around per-IP throttles.
 */
export function clientIp(request: Request): string {
  return request.headers.get("cf-connecting-ip")?.trim().slice(0, 64) || "unknown";
}

export function userAgent(request: Request): string {
  return (request.headers.get("user-agent") ?? "").slice(0, 300);
}

/** Who asked, as the audit log and the throttles record it: built once per request in the load context. */
export type RequestMeta = { ip: string; userAgent: string };

export function requestMeta(request: Request): RequestMeta {
  return { ip: clientIp(request), userAgent: userAgent(request) };
}

const LOCAL_ORIGIN = "http://local.invalid";

/**
 * The URL parser strips tabs, CR and LF and reads a backslash as a slash, so "/\t/evil" or "/\\evil"
 * would mean something else once parsed: control characters and backslashes are refused anywhere.
 * Encoded slashes and backslashes are decoded by some servers and proxies on the way, so they are
 * refused in the path part (a query string may carry them harmlessly, e.g. a search for "a/b").
 */
// \p{Cc}: every control character (C0, DEL, C1).
const CONTROL_OR_BACKSLASH = /[\p{Cc}\\]/u;
const ENCODED_SLASH = /%2f|%5c/i;

/** A path on this site: one leading slash, never "//" or "/\" (which browsers read as another host). */
function isLocalPath(path: string): boolean {
  const pathPart = path.split(/[?#]/, 1)[0];
  return path.startsWith("/") && !path.startsWith("//") && !CONTROL_OR_BACKSLASH.test(path) && !ENCODED_SLASH.test(pathPart);
}

/**
 * A return path (e.g. `redirectTo`) made safe to redirect to: a path on this site, or the fallback.
 * The check runs on the path actually returned, after URL normalisation: the parser resolves dot
 * segments, so "/.//evil.example" (which passes a check on the raw string) comes out as "//evil.example".
 */
export function safeRedirectPath(value: unknown, fallback: string): string {
  if (typeof value !== "string" || value.length > 1000 || !isLocalPath(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, LOCAL_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== LOCAL_ORIGIN) return fallback;
  const path = url.pathname + url.search + url.hash;
  if (!isLocalPath(path)) return fallback;
  // What the browser will resolve the Location to must be the path we checked, unchanged.
  const resolved = new URL(path, LOCAL_ORIGIN);
  if (resolved.origin !== LOCAL_ORIGIN || resolved.pathname + resolved.search + resolved.hash !== path) return fallback;
  return path;
}
