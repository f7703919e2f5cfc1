// The shared field schemas every form uses (app/server/fields.ts).
import { describe, expect, it } from "vitest";
import { emailField, idParam, signInPasswordField, totpCodeField } from "~/server/fields";

describe("emailField", () => {
  it("trims and lowercases", () => {
    expect(emailField.parse("  Olivia@Client.TEST ")).toBe("olivia@client.test");
  });

  it.each([undefined, 42, "", "   ", "not-an-email", "a@b", `${"a".repeat(250)}@x.io`, "two@at@client.test"])("refuses %j", (value) => {
    expect(emailField.safeParse(value).success).toBe(false);
  });
});

describe("totpCodeField", () => {
  it("accepts six digits, with the spaces an authenticator app shows", () => {
    expect(totpCodeField.parse("123 456")).toBe("123456");
    expect(totpCodeField.parse(" 000000 ")).toBe("000000");
  });

  it.each(["12345", "1234567", "12345a", "１２３４５６", "", undefined])("refuses %j", (value) => {
    expect(totpCodeField.safeParse(value).success).toBe(false);
  });
});

describe("signInPasswordField and idParam", () => {
  it("take a password of 1 to 128 characters as it is, without trimming", () => {
    expect(signInPasswordField.parse(" pass ")).toBe(" pass ");
    expect(signInPasswordField.safeParse("").success).toBe(false);
    expect(signInPasswordField.safeParse("x".repeat(129)).success).toBe(false);
  });

  it("take ids of URL-safe characters only", () => {
    expect(idParam.parse("contact_harbor_olivia-1")).toBe("contact_harbor_olivia-1");
    for (const bad of ["", "a/b", "a b", "../x", "a%2fb", "x".repeat(65)]) expect(idParam.safeParse(bad).success).toBe(false);
  });
});
