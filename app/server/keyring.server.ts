// Key ids for the Worker secrets that protect data at rest (docs/decisions/017), so a key can be
// rotated without making anything unreadable:
//   - a secret's value is `<key id>:<base64 of 32 bytes>` (e.g. `k2:…`); a bare base64 value is key `k0`,
//     so deployments and .dev.vars files from before key ids keep working unchanged;
//   - `<NAME>_RETIRED` lists earlier keys the same way, comma-separated, for reading only;
//   - everything made with a key records its id (`k2:<ciphertext or hash>`); stored values without an id
//     were made before key ids, with key `k0`;
//   - new values always use the current key; reads pick the key by the recorded id.
import { decodeBase64 } from "@oslojs/encoding";

/** The id of a key configured without one, and of every value stored before key ids existed. */
export const LEGACY_KEY_ID = "k0";
const KEY_ID = /^k[0-9]{1,6}$/;
/** A stored value's id prefix. Base64 and hex never contain `:`, so a value without one is a legacy value. */
const STORED_PREFIX = /^(k[0-9]{1,6}):/;

export type Keyring = {
  current: { id: string; key: Uint8Array<ArrayBuffer> };
  /** Every key that may be read with, the current one included. */
  byId: ReadonlyMap<string, Uint8Array<ArrayBuffer>>;
};

export type KeyringNames = { current: string; retired: string };
export const TOTP_KEY_NAMES: KeyringNames = { current: "TOTP_ENCRYPTION_KEY", retired: "TOTP_ENCRYPTION_KEYS_RETIRED" };
export const RECOVERY_KEY_NAMES: KeyringNames = { current: "RECOVERY_CODE_KEY", retired: "RECOVERY_CODE_KEYS_RETIRED" };

/** The settings that hold the TOTP key (also the master key of the outbox's sealed links). */
export type TotpKeys = { TOTP_ENCRYPTION_KEY: string; TOTP_ENCRYPTION_KEYS_RETIRED?: string };
/** The settings that hold the recovery-code HMAC key. */
export type RecoveryKeys = { RECOVERY_CODE_KEY: string; RECOVERY_CODE_KEYS_RETIRED?: string };

type Entry = { id: string; key: Uint8Array<ArrayBuffer> };

function parseEntry(value: string): Entry | "bad_id" | "bad_key" {
  const colon = value.indexOf(":");
  const id = colon < 0 ? LEGACY_KEY_ID : value.slice(0, colon);
  if (!KEY_ID.test(id)) return "bad_id";
  try {
    const key = new Uint8Array(decodeBase64(value.slice(colon + 1)));
    return key.length === 32 ? { id, key } : "bad_key";
  } catch {
    return "bad_key";
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const FORMAT = "base64 of 32 bytes, optionally after a key id (`k1:<base64>`)";

/** The keyring of two settings, or every problem with them (naming the settings, never their values). */
export function parseKeyring(
  names: KeyringNames,
  current: string | undefined,
  retired: string | undefined,
): { ok: true; keyring: Keyring } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const byId = new Map<string, Uint8Array<ArrayBuffer>>();
  let currentEntry: Entry | null = null;
  if (!current?.trim()) problems.push(`${names.current} is not set`);
  else {
    const entry = parseEntry(current.trim());
    if (entry === "bad_id") problems.push(`${names.current} has a key id that is not k<digits> (e.g. k2)`);
    else if (entry === "bad_key") problems.push(`${names.current} is not ${FORMAT}`);
    else {
      currentEntry = entry;
      byId.set(entry.id, entry.key);
    }
  }
  const retiredValues = (retired ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  retiredValues.forEach((value, index) => {
    const where = `${names.retired} (entry ${index + 1})`;
    const entry = parseEntry(value);
    if (entry === "bad_id") problems.push(`${where} has a key id that is not k<digits> (e.g. k1)`);
    else if (entry === "bad_key") problems.push(`${where} is not ${FORMAT}`);
    else if (currentEntry && entry.id === currentEntry.id) {
      // The current key listed again is harmless, and lets the operator put the retired list before the new
      // current key (docs/deploy.md), so the worker never runs a moment without a key it needs.
      if (!sameBytes(entry.key, currentEntry.key)) {
        problems.push(`${where} has key id ${entry.id}, the id of the current key in ${names.current}, with another key: give every key its own id`);
      }
    } else if (byId.has(entry.id)) problems.push(`${where} repeats key id ${entry.id}`);
    else byId.set(entry.id, entry.key);
  });
  if (problems.length || !currentEntry) return { ok: false, problems };
  return { ok: true, keyring: { current: currentEntry, byId } };
}

/**
 * The keyring, for code that runs only after the readiness check (app/worker/readiness.ts) has
 * accepted the settings; a malformed setting here is a deployment error, reported by name.
 */
function keyringOf(names: KeyringNames, current: string | undefined, retired: string | undefined): Keyring {
  const parsed = parseKeyring(names, current, retired);
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  return parsed.keyring;
}

export function totpKeyring(keys: TotpKeys): Keyring {
  return keyringOf(TOTP_KEY_NAMES, keys.TOTP_ENCRYPTION_KEY, keys.TOTP_ENCRYPTION_KEYS_RETIRED);
}

export function recoveryKeyring(keys: RecoveryKeys): Keyring {
  return keyringOf(RECOVERY_KEY_NAMES, keys.RECOVERY_CODE_KEY, keys.RECOVERY_CODE_KEYS_RETIRED);
}

/** `<id>:<value>`: how every ciphertext, sealed link and recovery-code hash is stored. */
export function withKeyId(id: string, value: string): string {
  return `${id}:${value}`;
}

/** The id a stored value was made with (`k0` for values from before key ids) and the value itself. */
export function splitKeyId(stored: string): { id: string; value: string } {
  const match = STORED_PREFIX.exec(stored);
  return match ? { id: match[1], value: stored.slice(match[0].length) } : { id: LEGACY_KEY_ID, value: stored };
}

/**
 * The key a stored value was made with, or null when that key is not configured (removed too early, or
 * never there). The caller treats the value as unusable, as it would a tampered one: a wrong code, never
 * an error page. The log line names the key id and the setting, so the operator can put the key back.
 */
export function keyForStored(keyring: Keyring, names: KeyringNames, id: string, what: string | null): Uint8Array<ArrayBuffer> | null {
  const key = keyring.byId.get(id);
  // `what` is null for values a browser sends back (a pending enrolment): anyone could send any id.
  if (!key && what !== null) console.error(`Unusable ${what}: it was made with key id ${id}, which is neither ${names.current} nor in ${names.retired}`);
  return key ?? null;
}
