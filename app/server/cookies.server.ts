// SECURITY.md: `__Host-` prefix, Secure, HttpOnly, SameSite=Lax, Path=/, never a Domain.
export const STAFF_SESSION_COOKIE = "__Host-staff_session";
export const PORTAL_SESSION_COOKIE = "__Host-portal_session";
/** Identifies the browser that claimed an access link. Long-lived, random, not a session. */
export const DEVICE_COOKIE = "__Host-device";

export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

export function clearCookie(name: string): string {
  return `${name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
}
