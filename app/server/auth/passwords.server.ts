// Password hashing: scrypt from node:crypto (native in workerd with nodejs_compat).
// scrypt is memory-hard; PBKDF2 would be capped at 100,000 iterations in production workerd.
// The parameters are stored with every hash so they can be raised later: verifyPassword reports
// when a hash was made with older parameters and the caller rehashes on sign-in.
import { scrypt, timingSafeEqual } from "node:crypto";
import { decodeBase64, encodeBase64 } from "@oslojs/encoding";

export const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 5, keyLength: 32 } as const;
/** Memory one scrypt call may use (node's default cap); 128 * N * r bytes are needed. */
export const SCRYPT_MAXMEM = 32 * 1024 * 1024;

type ScryptParams = { N: number; r: number; p: number; keyLength: number };

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      params.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: SCRYPT_MAXMEM },
      (error, key) => (error ? reject(error) : resolve(new Uint8Array(key))),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await derive(password, salt, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${encodeBase64(salt)}$${encodeBase64(key)}`;
}

export type PasswordCheck = { valid: boolean; needsRehash: boolean };

export async function verifyPassword(stored: string, password: string): Promise<PasswordCheck> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return { valid: false, needsRehash: false };
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = decodeBase64(parts[4]);
  const expected = decodeBase64(parts[5]);
  const actual = await derive(password, salt, { N, r, p, keyLength: expected.length });
  const valid = actual.length === expected.length && timingSafeEqual(actual, expected);
  const needsRehash = N !== SCRYPT_PARAMS.N || r !== SCRYPT_PARAMS.r || p !== SCRYPT_PARAMS.p;
  return { valid, needsRehash };
}

/**
 * The hash of a random, forgotten password. Verified against when no account matches, so that
 * "no such account" costs the same time as "wrong password" (no enumeration by timing).
 */
export const DUMMY_PASSWORD_HASH =
  "scrypt$16384$8$5$rbu6pyACUj/kMv4lBrEUqQ==$5nN6q+i0YzDMAfDL7aLCoM+wVnYbna//v7e5/1svPug=";
