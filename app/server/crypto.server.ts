// Small primitives shared by the auth modules. Web Crypto only, so they run in workerd and in Node.
import { encodeBase64urlNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return bytes;
}

/** 32 random bytes, base64url: the format of every emailed token. */
export function generateToken(): string {
  return encodeBase64urlNoPadding(randomBytes(32));
}

export function generateId(): string {
  return crypto.randomUUID();
}

export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return encodeHexLowerCase(new Uint8Array(digest));
}

export async function hmacSha256Hex(keyBytes: Uint8Array<ArrayBuffer>, value: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(value));
  return encodeHexLowerCase(new Uint8Array(mac));
}

/** Compares two strings without an early exit on the first differing character. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}
