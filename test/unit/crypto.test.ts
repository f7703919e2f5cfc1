// The small cryptographic helpers, against published test vectors and their edge cases.
import { describe, expect, it } from "vitest";
import { constantTimeEqual, generateId, generateToken, hmacSha256Hex, sha256Hex } from "~/server/crypto.server";

describe("hashes", () => {
  it("sha256Hex matches the FIPS 180-2 vector", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hmacSha256Hex matches RFC 4231 test case 2 (key \"Jefe\")", async () => {
    expect(await hmacSha256Hex(new TextEncoder().encode("Jefe"), "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
});

describe("constantTimeEqual", () => {
  it.each([
    ["", "", true],
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["abc", "ab", false],
    ["ab", "abc", false],
    ["", "a", false],
    ["é", "e\u0301", false],
    ["\u0000", "", false],
  ])("%j and %j: %s", (a, b, equal) => {
    expect(constantTimeEqual(a, b)).toBe(equal);
  });
});

describe("random values", () => {
  it("tokens are 32 random bytes in base64url (43 characters) and do not repeat", () => {
    const tokens = Array.from({ length: 200 }, generateToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it("ids do not repeat", () => {
    const ids = Array.from({ length: 200 }, generateId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
