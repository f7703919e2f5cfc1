// Who a request comes from: only Cloudflare's own header names the IP (a client sets X-Forwarded-For),
// and both values are bounded before they reach the audit log.
import { describe, expect, it } from "vitest";
import { clientIp, userAgent } from "~/server/request-meta.server";
import { ipSubject, samePlace } from "~/server/rate-limit.server";

const request = (headers: Record<string, string>) => new Request("https://portal.test/", { headers });

describe("clientIp and userAgent", () => {
  it("read CF-Connecting-IP only, never X-Forwarded-For or X-Real-IP", () => {
    expect(clientIp(request({ "cf-connecting-ip": " 203.0.113.7 ", "x-forwarded-for": "198.51.100.1" }))).toBe("203.0.113.7");
    expect(clientIp(request({ "x-forwarded-for": "198.51.100.1", "x-real-ip": "198.51.100.2" }))).toBe("unknown");
    expect(clientIp(request({ "cf-connecting-ip": "   " }))).toBe("unknown");
  });

  it("bound the IP to 64 and the user agent to 300 characters", () => {
    expect(clientIp(request({ "cf-connecting-ip": "1".repeat(100) }))).toHaveLength(64);
    expect(userAgent(request({ "user-agent": "u".repeat(1000) }))).toHaveLength(300);
    expect(userAgent(request({}))).toBe("");
  });
});

describe("samePlace", () => {
  it.each([
    [["203.0.113.7"], "203.0.113.7", true],
    [["203.0.113.7"], "203.0.113.8", false],
    [["::ffff:203.0.113.7"], "203.0.113.7", true],
    [["2001:db8:1:2::1"], "2001:db8:1:2:abcd::99", true],
    [["2001:DB8:1:2::1"], "2001:db8:1:2::2", true],
    [["2001:db8:1:2::1"], "2001:db8:1:3::1", false],
    [[null, "198.51.100.1"], "198.51.100.1", true],
    [[null], "unknown", false],
    [[], "203.0.113.7", false],
  ] as Array<[Array<string | null>, string, boolean]>)("%j and %s: %s", (known, ip, same) => {
    expect(samePlace(known, ip)).toBe(same);
  });

  it("counts an IPv6 address per /64 and an IPv4 address on its own", () => {
    expect(ipSubject("2001:db8:1:2:3:4:5:6")).toBe(ipSubject("2001:db8:1:2::"));
    expect(ipSubject("203.0.113.7")).toBe("203.0.113.7");
  });
});
