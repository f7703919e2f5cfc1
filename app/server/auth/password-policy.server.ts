// NIST SP 800-63B: length, no composition rules, no truncation, a blocklist of common passwords.
import { z } from "zod";
import { COMMON_LONG_PASSWORDS } from "./common-passwords.generated";

export const PASSWORD_MAX = 128;

/** 15 characters when neither the firm nor the client uses 2FA, 12 with a second factor. */
export function minimumPasswordLength(hasSecondFactor: boolean): number {
  return hasSecondFactor ? 12 : 15;
}

export function passwordSchema(hasSecondFactor: boolean) {
  const min = minimumPasswordLength(hasSecondFactor);
  return z
    .string({ required_error: "Enter a password." })
    .min(min, `Use at least ${min} characters.`)
    .max(PASSWORD_MAX, `Use at most ${PASSWORD_MAX} characters.`)
    .refine((value) => !COMMON_LONG_PASSWORDS.has(value.toLowerCase()), {
      message: "This password is too common. Choose another.",
    });
}
