// Cookies (SECURITY.md: `__Host-` prefix, Secure, HttpOnly, SameSite=Lax, Path=/, never a Domain).
import { describe, expect, it } from "vitest";
import { clearCookie, readCookie, setCookie, STAFF_SESSION_COOKIE } from "~/server/cookies.server";

const withCookie = (header: string | null) => new Request("https://portal.test/", header === null ? {} : { headers: { cookie: header } });

describe("readCookie", () => {
  it.each([
    [null, null],
    ["", null],
    ["__Host-staff_session=abc", "abc"],
    ["a=1; __Host-staff_session=abc; b=2", "abc"],
    ["  __Host-staff_session = abc  ", "abc"],
    ["x__Host-staff_session=wrong; __Host-staff_session=right", "right"],
    ["__Host-staff_session_old=wrong", null],
    ["__Host-staff_session=", null],
    ["__Host-staff_session", null],
    ["__Host-staff_session=a=b", "a=b"],
    ["__Host-staff_session=first; __Host-staff_session=second", "first"],
  ])("%j gives %j", (header, value) => {
    expect(readCookie(withCookie(header), STAFF_SESSION_COOKIE)).toBe(value);
  });
});

describe("setCookie and clearCookie", () => {
  it("set every required attribute and no Domain", () => {
    const cookie = setCookie(STAFF_SESSION_COOKIE, "token", 3600.9);
    expect(cookie).toBe("__Host-staff_session=token; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=3600");
    expect(cookie).not.toMatch(/domain=/i);
  });

  it("never write a negative or fractional Max-Age", () => {
    expect(setCookie("n", "v", -5)).toContain("Max-Age=0");
    expect(setCookie("n", "v", 0.5)).toContain("Max-Age=0");
  });

  it("clear with the same attributes, so the browser replaces the same cookie", () => {
    expect(clearCookie(STAFF_SESSION_COOKIE)).toBe("__Host-staff_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
  });
});
