// Second-factor helpers for tests: turn TOTP on for an account directly, and make right and wrong codes.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { portalAccounts, staffUsers } from "../../db/schema";
import type { FactorOwner } from "../../app/server/auth/second-factor.server";
import { codeForStep, currentStep, encryptTotpSecret, generateTotpSecret } from "../../app/server/auth/totp.server";
import { db } from "./factories";

/** Saves a fresh (or given) secret as if the owner had enrolled; returns the plain secret, as the app has it. */
export async function enableTotp(owner: FactorOwner, secret = generateTotpSecret()): Promise<Uint8Array> {
  const values = {
    totpSecret: await encryptTotpSecret(env, owner.firmId, owner.id, secret),
    totpEnabledAt: Date.now(),
  };
  if (owner.kind === "staff") await db.update(staffUsers).set(values).where(eq(staffUsers.id, owner.id));
  else await db.update(portalAccounts).set(values).where(eq(portalAccounts.id, owner.id));
  return secret;
}

/** The code the authenticator app shows now (or `offset` steps from now). */
export function codeNow(secret: Uint8Array, offset = 0): string {
  return codeForStep(secret, currentStep() + offset);
}

/** A well-formed code that matches no step of the window. */
export function wrongCode(secret: Uint8Array): string {
  const valid = new Set([-1, 0, 1].map((offset) => codeNow(secret, offset)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, "0");
    if (!valid.has(candidate)) return candidate;
  }
}

export function staffOwner(staff: { id: string; firmId: string }): FactorOwner {
  return { kind: "staff", id: staff.id, firmId: staff.firmId };
}

export function portalOwner(account: { id: string; firmId: string }): FactorOwner & { kind: "portal" } {
  return { kind: "portal", id: account.id, firmId: account.firmId };
}
