import { describe, expect, it } from "vitest";
import { hashPassword, SCRYPT_MAXMEM, SCRYPT_PARAMS, verifyPassword } from "~/server/auth/passwords.server";
import { passwordSchema } from "~/server/auth/password-policy.server";

describe("password hashing (SECURITY.md: password hash)", () => {
  it("stays within production workerd limits: scrypt memory under maxmem, not PBKDF2 above 100,000", () => {
    const { N, r, p } = SCRYPT_PARAMS;
    expect(128 * N * r).toBeLessThanOrEqual(SCRYPT_MAXMEM);
    // Memory per call well under the 128 MB isolate limit, leaving room for the request itself.
    expect(128 * N * r).toBeLessThanOrEqual(32 * 1024 * 1024);
    // Strength at least OWASP's scrypt minimum (N=2^14, r=8, p=5 or an equivalent cost).
    expect(N * r * p).toBeGreaterThanOrEqual(2 ** 14 * 8 * 5);
  });

  it("stores parameters with each hash and verifies only the right password", async () => {
    const hash = await hashPassword("a long enough passphrase");
    expect(hash).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect((await verifyPassword(hash, "a long enough passphrase")).valid).toBe(true);
    expect((await verifyPassword(hash, "a long enough passphrasE")).valid).toBe(false);
    expect(await hashPassword("a long enough passphrase")).not.toBe(hash);
  });

  it("asks for a rehash when a hash was made with other parameters", async () => {
    const hash = await hashPassword("another passphrase here");
    const older = hash.replace("scrypt$16384$8$5$", "scrypt$16384$8$1$");
    const check = await verifyPassword(older, "another passphrase here");
    expect(check.valid).toBe(false); // different p gives a different key
    expect(check.needsRehash).toBe(true);
  });

  it("does not truncate long passwords", async () => {
    const long = "x".repeat(120);
    const hash = await hashPassword(long);
    expect((await verifyPassword(hash, long.slice(0, 72))).valid).toBe(false);
    expect((await verifyPassword(hash, long)).valid).toBe(true);
  });
});

describe("password policy (NIST 800-63B)", () => {
  it("needs 15 characters without a second factor and 12 with one", () => {
    expect(passwordSchema(false).safeParse("fourteen chars").success).toBe(false);
    expect(passwordSchema(false).safeParse("fifteen chars!!").success).toBe(true);
    expect(passwordSchema(true).safeParse("twelve chars").success).toBe(true);
    expect(passwordSchema(true).safeParse("eleven char").success).toBe(false);
  });

  it("refuses more than 128 characters and common passwords, and asks for no composition", () => {
    expect(passwordSchema(true).safeParse("a".repeat(129)).success).toBe(false);
    expect(passwordSchema(true).safeParse("1q2w3e4r5t6y").success).toBe(false);
    expect(passwordSchema(true).safeParse("all lower case words").success).toBe(true);
  });
});
