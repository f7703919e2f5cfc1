// SECURITY.md rule 13: the TOTP code generation matches RFC 4226 and RFC 6238.
import { describe, expect, it } from "vitest";
import {
  PENDING_SECRET_MS,
  TOTP_SECRET_BYTES,
  codeForStep,
  currentStep,
  decryptTotpSecret,
  encryptTotpSecret,
  generateTotpSecret,
  matchTotpStep,
  openPendingTotpSecret,
  sealPendingTotpSecret,
  totpKeyUri,
} from "~/server/auth/totp.server";

const KEY = { TOTP_ENCRYPTION_KEY: "dGVzdC10b3RwLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=" };
const RFC_SECRET = new TextEncoder().encode("12345678901234567890");

describe("rule 13: RFC vectors pass", () => {
  it("RFC 4226 HOTP, counters 0-9", () => {
    const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    expect(expected.map((_, counter) => codeForStep(RFC_SECRET, counter))).toEqual(expected);
  });

  it("RFC 6238 TOTP, SHA-1, 8 digits", () => {
    const vectors: Array<[number, string]> = [
      [59, "94287082"],
      [1111111109, "07081804"],
      [1234567890, "89005924"],
      [20000000000, "65353130"],
    ];
    for (const [seconds, code] of vectors) {
      expect(codeForStep(RFC_SECRET, currentStep(seconds * 1000), 8)).toBe(code);
    }
  });
});

describe("TOTP parameters", () => {
  it("makes 20-byte secrets and an otpauth URI with SHA-1, 6 digits, 30 seconds", () => {
    const secret = generateTotpSecret();
    expect(secret.length).toBe(TOTP_SECRET_BYTES);
    const uri = new URL(totpKeyUri("Client Portal", "a@b.test", secret));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    expect(uri.searchParams.get("algorithm")).toBe("SHA1");
  });

  it("accepts one step of drift either way, not two, and never a step at or before the last used one", () => {
    const secret = generateTotpSecret();
    const now = Date.now();
    const step = currentStep(now);
    for (const drift of [-1, 0, 1]) expect(matchTotpStep(secret, codeForStep(secret, step + drift), null, now)).toBe(step + drift);
    for (const drift of [-2, 2]) expect(matchTotpStep(secret, codeForStep(secret, step + drift), null, now)).toBeNull();
    expect(matchTotpStep(secret, codeForStep(secret, step), step, now)).toBeNull();
    expect(matchTotpStep(secret, codeForStep(secret, step), step - 1, now)).toBe(step);
  });
});

describe("secrets at rest and pending secrets", () => {
  it("a saved secret decrypts only for its firm and owner", async () => {
    const secret = generateTotpSecret();
    const stored = await encryptTotpSecret(KEY, "firm_a", "owner_1", secret);
    expect(await decryptTotpSecret(KEY, "firm_a", "owner_1", stored)).toEqual(secret);
    expect(await decryptTotpSecret(KEY, "firm_a", "owner_2", stored)).toBeNull();
    expect(await decryptTotpSecret(KEY, "firm_b", "owner_1", stored)).toBeNull();
    expect(await decryptTotpSecret(KEY, "firm_a", "owner_1", "not base64!")).toBeNull();
  });

  it("a pending secret opens only for its owner, within its validity, and is no saved secret", async () => {
    const secret = generateTotpSecret();
    const now = Date.now();
    const sealed = await sealPendingTotpSecret(KEY, "firm_a", "owner_1", secret, now);
    expect(await openPendingTotpSecret(KEY, "firm_a", "owner_1", sealed, now + 60_000)).toEqual(secret);
    expect(await openPendingTotpSecret(KEY, "firm_a", "owner_2", sealed, now)).toBeNull();
    expect(await openPendingTotpSecret(KEY, "firm_a", "owner_1", sealed, now + PENDING_SECRET_MS + 1)).toBeNull();
    // Different purpose in the additional data: a pending ciphertext cannot pass as a saved one, nor back.
    expect(await decryptTotpSecret(KEY, "firm_a", "owner_1", sealed)).toBeNull();
    const saved = await encryptTotpSecret(KEY, "firm_a", "owner_1", secret);
    expect(await openPendingTotpSecret(KEY, "firm_a", "owner_1", saved, now)).toBeNull();
    const tampered = sealed.slice(0, 20) + (sealed[20] === "A" ? "B" : "A") + sealed.slice(21);
    expect(await openPendingTotpSecret(KEY, "firm_a", "owner_1", tampered, now)).toBeNull();
  });
});
