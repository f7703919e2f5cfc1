// TOTP (RFC 6238): SHA-1, 6 digits, 30-second steps, one step of drift either way.
// The secret is encrypted at rest with AES-GCM under a Worker secret, and the additional data binds
// each ciphertext to its firm and account, so a ciphertext copied onto another row fails to decrypt.
// Each ciphertext records the id of the key that made it (docs/decisions/017), so keys can be rotated.
import { decodeBase64, encodeBase32UpperCaseNoPadding, encodeBase64 } from "@oslojs/encoding";
import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { constantTimeEqual, randomBytes } from "../crypto.server";
import { TOTP_KEY_NAMES, keyForStored, splitKeyId, totpKeyring, withKeyId, type TotpKeys } from "../keyring.server";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_SECRET_BYTES = 20;
/** Steps of drift accepted on either side of the current one. */
export const TOTP_WINDOW = 1;
export const TOTP_MAX_FAILURES = 5;
export const TOTP_LOCK_MS = 15 * 60_000;

export function generateTotpSecret(): Uint8Array {
  return randomBytes(TOTP_SECRET_BYTES);
}

export function currentStep(now = Date.now()): number {
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
}

export function codeForStep(secret: Uint8Array, step: number, digits = TOTP_DIGITS): string {
  return generateHOTP(secret, BigInt(step), digits);
}

/**
 * The time step a code belongs to, if it is valid within the window and newer than `lastUsedStep`.
 * Returning the step lets the caller burn it, so no code is accepted twice.
 */
export function matchTotpStep(secret: Uint8Array, code: string, lastUsedStep: number | null, now = Date.now()): number | null {
  const step = currentStep(now);
  let matched: number | null = null;
  // Check every candidate step, without stopping early, to keep timing independent of the match.
  for (let s = step - TOTP_WINDOW; s <= step + TOTP_WINDOW; s++) {
    if (constantTimeEqual(codeForStep(secret, s), code) && (lastUsedStep === null || s > lastUsedStep)) matched = s;
  }
  return matched;
}

export function totpKeyUri(issuer: string, accountName: string, secret: Uint8Array): string {
  return createTOTPKeyURI(issuer, accountName, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
}

/** The key as people type it into an authenticator app: base32, in groups of four. */
export function formatTotpKey(secret: Uint8Array): string {
  return encodeBase32UpperCaseNoPadding(secret).replace(/(.{4})/g, "$1 ").trim();
}

async function importKey(key: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** What a ciphertext is for: the saved secret, or a secret shown during enrolment and not yet confirmed. */
type SecretPurpose = "totp" | "totp-pending";

function ownerData(firmId: string, ownerId: string, purpose: SecretPurpose = "totp"): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${purpose}:${firmId}:${ownerId}`);
}

/** Always under the current key, whose id leads the result. */
async function seal(keys: TotpKeys, additionalData: Uint8Array<ArrayBuffer>, plain: Uint8Array): Promise<string> {
  const { current } = totpKeyring(keys);
  const iv = randomBytes(12);
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, await importKey(current.key), new Uint8Array(plain));
  const out = new Uint8Array(12 + ciphertext.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ciphertext), 12);
  return withKeyId(current.id, encodeBase64(out));
}

/** With the key named by the stored value's id, current or retired. */
async function open(keys: TotpKeys, additionalData: Uint8Array<ArrayBuffer>, stored: string, what: string | null): Promise<Uint8Array | null> {
  const { id, value } = splitKeyId(stored);
  const key = keyForStored(totpKeyring(keys), TOTP_KEY_NAMES, id, what);
  if (!key) return null;
  try {
    const bytes = new Uint8Array(decodeBase64(value));
    if (bytes.length < 12 + 16) return null;
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData }, await importKey(key), bytes.slice(12));
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}

/** `<key id>:base64(iv || ciphertext)` with a fresh 12-byte IV, under the current key. */
export async function encryptTotpSecret(keys: TotpKeys, firmId: string, ownerId: string, secret: Uint8Array): Promise<string> {
  return seal(keys, ownerData(firmId, ownerId), secret);
}

/** Null when the ciphertext was tampered with, belongs to another owner, or its key is not configured. */
export async function decryptTotpSecret(keys: TotpKeys, firmId: string, ownerId: string, stored: string): Promise<Uint8Array | null> {
  return open(keys, ownerData(firmId, ownerId), stored, `TOTP secret of ${ownerId}`);
}

/** How long a secret shown on the setup page may still be confirmed. */
export const PENDING_SECRET_MS = 30 * 60_000;

/**
 * The secret shown during enrolment travels in a hidden form field until the code confirms it. It is
 * sealed for its owner with a different purpose than a saved secret, and carries its issue time, so the
 * browser can neither choose the secret, move it to another account, nor keep it for later.
 */
export async function sealPendingTotpSecret(
  keys: TotpKeys,
  firmId: string,
  ownerId: string,
  secret: Uint8Array,
  now = Date.now(),
): Promise<string> {
  const plain = new Uint8Array(8 + secret.length);
  new DataView(plain.buffer).setFloat64(0, now);
  plain.set(secret, 8);
  return seal(keys, ownerData(firmId, ownerId, "totp-pending"), plain);
}

export async function openPendingTotpSecret(
  keys: TotpKeys,
  firmId: string,
  ownerId: string,
  sealed: string,
  now = Date.now(),
): Promise<Uint8Array | null> {
  if (sealed.length > 200) return null;
  const plain = await open(keys, ownerData(firmId, ownerId, "totp-pending"), sealed, null);
  if (!plain || plain.length !== 8 + TOTP_SECRET_BYTES) return null;
  const issuedAt = new DataView(plain.buffer, plain.byteOffset).getFloat64(0);
  // A minute of slack: the page and the confirmation may be served by isolates with slightly different clocks.
  if (!(issuedAt <= now + 60_000 && now - issuedAt <= PENDING_SECRET_MS)) return null;
  return plain.slice(8);
}
