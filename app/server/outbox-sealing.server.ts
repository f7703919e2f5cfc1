// Sealing the secret link of an outbox message (docs/decisions/008): AES-GCM under a key derived from a
// Worker secret, bound to the row id, so the outbox table holds no usable token. A sealed link records the
// id of the master key it was sealed under (docs/decisions/017), so links queued before a key rotation
// still open, and `npm run keys:reencrypt` can move them to the current key.
import { decodeBase64, encodeBase64 } from "@oslojs/encoding";
import { randomBytes } from "./crypto.server";
import { TOTP_KEY_NAMES, keyForStored, splitKeyId, totpKeyring, withKeyId, type TotpKeys } from "./keyring.server";

// ---------------------------------------------------------------------------------------------
// Sealing the secret link

/**
 * Its own AES-GCM key, derived with HKDF from the Worker secret that seals TOTP secrets: a distinct
 * `info` keeps the two uses apart without another secret to provision.
 */
async function outboxKey(masterKey: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey("raw", masterKey, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("client-portal outbox secret url v1") },
    master,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** The row id is the additional data: a sealed link copied onto another message does not open. */
export async function sealSecret(keys: TotpKeys, rowId: string, secret: string): Promise<string> {
  const { current } = totpKeyring(keys);
  const iv = randomBytes(12);
  const additionalData = new TextEncoder().encode(`outbox:${rowId}`);
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, await outboxKey(current.key), new TextEncoder().encode(secret));
  const out = new Uint8Array(12 + ciphertext.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ciphertext), 12);
  return withKeyId(current.id, encodeBase64(out));
}

/** Null when the ciphertext was tampered with, moved to another row, or its key is not configured (any more). */
export async function openSecret(keys: TotpKeys, rowId: string, sealed: string): Promise<string | null> {
  const { id, value } = splitKeyId(sealed);
  const masterKey = keyForStored(totpKeyring(keys), TOTP_KEY_NAMES, id, `sealed link of outbox message ${rowId}`);
  if (!masterKey) return null;
  try {
    const bytes = new Uint8Array(decodeBase64(value));
    if (bytes.length < 12 + 16) return null;
    const additionalData = new TextEncoder().encode(`outbox:${rowId}`);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData }, await outboxKey(masterKey), bytes.slice(12));
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}
