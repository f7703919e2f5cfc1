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

/** Only same-site paths: no scheme, no host, no protocol-relative `//`, no backslash tricks. */
export function safeRedirectPath(value: unknown, fallback: string): string {
  if (typeof value !== "string" || value.length > 1000) return fallback;
  if (!value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return fallback;
  try {
    const url = new URL(value, "http://local.invalid");
    if (url.origin !== "http://local.invalid") return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}
