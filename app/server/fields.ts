// Shared field schemas, so every form validates an email or a code the same way.
import { z } from "zod";

export const emailField = z
  .string({ required_error: "Enter an email address.", invalid_type_error: "Enter an email address." })
  .trim()
  .min(1, "Enter an email address.")
  .max(254, "That email address is too long.")
  .email("Enter a valid email address.")
  .transform((value) => value.toLowerCase());

export const signInPasswordField = z
  .string({ required_error: "Enter your password.", invalid_type_error: "Enter your password." })
  .min(1, "Enter your password.")
  .max(128, "Passwords are at most 128 characters.");

export const redirectToField = z.string().max(1000).optional();

export const totpCodeField = z
  .string({ required_error: "Enter the 6-digit code.", invalid_type_error: "Enter the 6-digit code." })
  .transform((value) => value.replace(/\s+/g, ""))
  .pipe(z.string().regex(/^\d{6}$/, "Enter the 6-digit code from your authenticator app."));

export const idParam = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
