// A software authenticator for tests: real ECDSA P-256 keys (WebCrypto), real authenticator data bytes,
// clientDataJSON and a minimal CBOR encoding of the attestation object (fmt "none"), so the server's
// verification runs on what a browser would send, and an attacker's variations are one option away.
import { encodeBase64urlNoPadding, decodeBase64urlIgnorePadding } from "@oslojs/encoding";
import { ORIGIN, type Browser } from "./http";

export const RP_ID = new URL(ORIGIN).hostname;

// ---------------------------------------------------------------------------------------------
// Minimal CBOR (RFC 8949): unsigned and negative integers, byte and text strings, maps.

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function head(major: number, value: number): number[] {
  if (value < 24) return [(major << 5) | value];
  if (value < 0x100) return [(major << 5) | 24, value];
  if (value < 0x10000) return [(major << 5) | 25, value >> 8, value & 0xff];
  return [(major << 5) | 26, (value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

export function cbor(value: Cbor): Uint8Array {
  const out: number[] = [];
  const write = (v: Cbor) => {
    if (typeof v === "number") out.push(...(v >= 0 ? head(0, v) : head(1, -1 - v)));
    else if (typeof v === "string") {
      const bytes = new TextEncoder().encode(v);
      out.push(...head(3, bytes.length), ...bytes);
    } else if (v instanceof Uint8Array) out.push(...head(2, v.length), ...v);
    else {
      out.push(...head(5, v.size));
      for (const [k, item] of v) {
        write(k);
        write(item);
      }
    }
  };
  write(value);
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------

const b64u = (bytes: Uint8Array) => encodeBase64urlNoPadding(bytes);

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A raw (r || s) ECDSA signature as DER, which WebAuthn uses. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v: Uint8Array = bytes.slice(i);
    if (v[0] & 0x80) v = concat(new Uint8Array([0]), v);
    return concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

export const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

export type CeremonyOverrides = {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  /** User verified (default true). */
  uv?: boolean;
  /** User present (default true). */
  up?: boolean;
  /** Synced passkey flags (default: both set). */
  backup?: boolean;
  counter?: number;
  crossOrigin?: boolean;
  /** Sign with another key (a forged assertion). */
  signWith?: CryptoKey;
  userHandle?: string | null;
};

type RegistrationOptions = { challenge: string; user: { id: string } };
type AssertionOptions = { challenge: string };

export class SoftAuthenticator {
  counter = 0;
  userHandle: string | null = null;
  private constructor(
    public readonly keys: CryptoKeyPair,
    public readonly credentialId: Uint8Array,
  ) {}

  /**
   * A fresh P-256 key. `shortCoordinate` keeps generating until that coordinate of the public key starts
   * with a zero byte (about one key in 256 does, so real users have them; a random key in a test rarely).
   */
  static async create(options: { shortCoordinate?: "x" | "y" } = {}): Promise<SoftAuthenticator> {
    for (;;) {
      const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
      const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
      const coordinate = options.shortCoordinate && decodeBase64urlIgnorePadding(jwk[options.shortCoordinate]!);
      if (!coordinate || coordinate[0] === 0) return new SoftAuthenticator(keys, crypto.getRandomValues(new Uint8Array(32)));
    }
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  private async authenticatorData(o: CeremonyOverrides, attested: Uint8Array | null): Promise<Uint8Array> {
    let flags = 0;
    if (o.up ?? true) flags |= FLAG.UP;
    if (o.uv ?? true) flags |= FLAG.UV;
    if (o.backup ?? true) flags |= FLAG.BE | FLAG.BS;
    if (attested) flags |= FLAG.AT;
    const counter = o.counter ?? this.counter;
    const counterBytes = new Uint8Array([(counter >>> 24) & 0xff, (counter >> 16) & 0xff, (counter >> 8) & 0xff, counter & 0xff]);
    const rpIdHash = await sha256(new TextEncoder().encode(o.rpId ?? RP_ID));
    return concat(rpIdHash, new Uint8Array([flags]), counterBytes, attested ?? new Uint8Array());
  }

  private clientData(kind: "webauthn.create" | "webauthn.get", challenge: string, o: CeremonyOverrides): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({ type: o.type ?? kind, challenge: o.challenge ?? challenge, origin: o.origin ?? ORIGIN, crossOrigin: o.crossOrigin ?? false }),
    );
  }

  /** What navigator.credentials.create() gives the page (as @simplewebauthn/browser's JSON). */
  async register(options: RegistrationOptions, o: CeremonyOverrides = {}) {
    const jwk = await crypto.subtle.exportKey("jwk", this.keys.publicKey);
    const coseKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, decodeBase64urlIgnorePadding(jwk.x!)],
        [-3, decodeBase64urlIgnorePadding(jwk.y!)],
      ]),
    );
    const idLength = new Uint8Array([this.credentialId.length >> 8, this.credentialId.length & 0xff]);
    const attested = concat(new Uint8Array(16), idLength, this.credentialId, coseKey);
    const authData = await this.authenticatorData(o, attested);
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    this.userHandle = options.user.id;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: b64u(this.clientData("webauthn.create", options.challenge, o)), attestationObject: b64u(attestationObject), transports: ["internal", "hybrid"] },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** What navigator.credentials.get() gives the page. The counter moves forward, as real authenticators do. */
  async assert(options: AssertionOptions, o: CeremonyOverrides = {}) {
    if (o.counter === undefined) this.counter += 1;
    const authData = await this.authenticatorData(o, null);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, o);
    const message = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, o.signWith ?? this.keys.privateKey, message));
    const userHandle = o.userHandle === undefined ? this.userHandle : o.userHandle;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authData), signature: b64u(derSignature(raw)), userHandle: userHandle ?? undefined },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The page's side of a ceremony, through the worker.

export function passkeyPost(browser: Browser, base: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return browser.fetch(`${base}/passkey`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
}

export async function optionsFor<T = { challenge: string; user: { id: string } }>(browser: Browser, base: string, intent: string): Promise<T> {
  const response = await passkeyPost(browser, base, { intent });
  const body = (await response.json()) as { ok: boolean; options: T; error?: string };
  if (response.status !== 200 || !body.ok) throw new Error(`${intent}: ${response.status} ${JSON.stringify(body)}`);
  return body.options;
}

/** Registers a passkey for the signed-in browser; returns the response of the register step. */
export async function registerPasskey(browser: Browser, base: string, authenticator: SoftAuthenticator, o: CeremonyOverrides = {}, name = "Test laptop") {
  const options = await optionsFor(browser, base, "register-options");
  return passkeyPost(browser, base, { intent: "register", credential: await authenticator.register(options, o), name });
}

/** Signs in with a passkey (no email): the options, then the assertion, from one browser. */
export async function signInWithPasskey(browser: Browser, base: string, authenticator: SoftAuthenticator, o: CeremonyOverrides = {}) {
  const options = await optionsFor<{ challenge: string }>(browser, base, "sign-in-options");
  return passkeyPost(browser, base, { intent: "sign-in", credential: await authenticator.assert(options, o) });
}
