// Requests through the real worker (SELF), with a tiny cookie jar per simulated browser.
import { SELF } from "cloudflare:test";

export const ORIGIN = "http://portal.test";

export class Browser {
  cookies = new Map<string, string>();
  setCookies: string[] = [];
  constructor(public ip = "203.0.113.10") {}

  /** This browser with a copy of another's cookies (the same session, replayed from elsewhere). */
  withCookies(other: Browser): this {
    for (const [k, v] of other.cookies) this.cookies.set(k, v);
    return this;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async fetch(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size && !headers.has("cookie")) headers.set("cookie", this.cookieHeader());
    if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", this.ip);
    headers.set("host", new URL(ORIGIN).host);
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers.set("content-type", "application/x-www-form-urlencoded");
    }
    const method = init.method ?? (init.form ? "POST" : "GET");
    if (method === "POST" && !headers.has("origin")) headers.set("origin", ORIGIN);
    if (method === "POST" && !headers.has("sec-fetch-site")) headers.set("sec-fetch-site", "same-origin");
    const response = await SELF.fetch(`${ORIGIN}${path}`, { ...init, method, headers, body, redirect: "manual" });
    for (const cookie of response.headers.getSetCookie()) {
      this.setCookies.push(cookie);
      const [pair] = cookie.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(cookie) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.fetch(path, { method: "POST", form, headers });
  }
}

export async function signInStaff(email: string, password: string, browser = new Browser()): Promise<Browser> {
  const response = await browser.post("/login", { email, password });
  if (response.status !== 302) throw new Error(`staff sign-in failed: ${response.status} ${await response.text()}`);
  return browser;
}
