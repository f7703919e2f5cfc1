// WebAuthn (passkeys) ceremonies, server side only (docs/decisions/019, SECURITY.md rules 33-35): the
// options a browser needs, single-use challenges in D1 bound to what asked for them, and verification of
// registrations and assertions with @oslojs/webauthn (parsing) and @oslojs/crypto (ES256 / RS256).
// Owner-agnostic: the portal and staff modules decide who may register or sign in, and what it grants.
import { ECDSAPublicKey, decodePKIXECDSASignature, decodeSEC1PublicKey, p256, verifyECDSASignature } from "@oslojs/crypto/ecdsa";
import { decodePKCS1RSAPublicKey, sha256ObjectIdentifier, verifyRSASSAPKCS1v15Signature, RSAPublicKey } from "@oslojs/crypto/rsa";
import { sha256 } from "@oslojs/crypto/sha2";
import { decodeBase64, decodeBase64urlIgnorePadding, encodeBase64, encodeBase64urlNoPadding } from "@oslojs/encoding";
import {
  ClientDataType,
  COSEKeyType,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveP256,
  createAssertionSignatureMessage,
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientDataJSON,
  type AuthenticatorData,
} from "@oslojs/webauthn";
import { and, eq, gt, lt } from "drizzle-orm";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { webauthnChallenges, webauthnCredentials, type WebauthnPurpose } from "../../../db/schema";
import { randomBytes, sha256Hex } from "../crypto.server";
import type { Database, Statement } from "../db.server";
import { refuse, type Refusal, type Result } from "../result";

/** A challenge is answered within this time or not at all (SECURITY.md rule 33). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** What the browser is told to wait for the person (less than the challenge's life). */
const CEREMONY_TIMEOUT_MS = 4 * 60_000;
export const MAX_PASSKEYS_PER_OWNER = 10;
/** A ceremony's JSON body is a few KiB; anything larger is refused before parsing. */
export const MAX_CEREMONY_BODY_BYTES = 32 * 1024;

export type WebauthnCredential = typeof webauthnCredentials.$inferSelect;

/** The relying party: every firm shares the app's host as RP ID, and its origin is the only one accepted. */
export type RelyingParty = { id: string; origin: string; name: string };

export function relyingParty(env: { APP_URL: string }): RelyingParty {
  const url = new URL(env.APP_URL);
  return { id: url.hostname, origin: url.origin, name: "Client Portal" };
}

// ---------------------------------------------------------------------------------------------
// Challenges

/** What a challenge is bound to: the session that asked, or the browser (device cookie) before a session exists. */
export function sessionBinding(sessionId: string): Promise<string> {
  return sha256Hex(`webauthn-session:${sessionId}`);
}

export function deviceBinding(deviceId: string): Promise<string> {
  return sha256Hex(`webauthn-device:${deviceId}`);
}

export type ChallengeScope = { purpose: WebauthnPurpose; boundTo: string; firmId: string | null };

/** A fresh 32-byte challenge, stored (as its SHA-256) with what it is for; expired ones are swept in the same batch. */
export async function createChallenge(
  db: Database,
  scope: ChallengeScope & { userHandle?: string },
  now = Date.now(),
): Promise<{ challenge: string; statements: Statement[] }> {
  const challenge = encodeBase64urlNoPadding(randomBytes(32));
  return {
    challenge,
    statements: [
      db.delete(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, now)),
      db.insert(webauthnChallenges).values({
        challengeHash: await sha256Hex(challenge),
        firmId: scope.firmId,
        purpose: scope.purpose,
        boundTo: scope.boundTo,
        userHandle: scope.userHandle ?? null,
        expiresAt: now + CHALLENGE_TTL_MS,
      }),
    ],
  };
}

/**
 * Claims a challenge exactly once: one DELETE ... RETURNING that matches only an unexpired challenge of
 * this purpose, bound to this session or browser, for this firm. Two submissions of one assertion cannot
 * both claim it; a challenge asked for by another session or browser is not found.
 */
async function claimChallenge(db: Database, challenge: Uint8Array, scope: ChallengeScope, now: number): Promise<{ userHandle: string | null } | null> {
  const hash = await sha256Hex(encodeBase64urlNoPadding(challenge));
  const claimed = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challengeHash, hash),
        eq(webauthnChallenges.purpose, scope.purpose),
        eq(webauthnChallenges.boundTo, scope.boundTo),
        scope.firmId === null ? undefined : eq(webauthnChallenges.firmId, scope.firmId),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning({ userHandle: webauthnChallenges.userHandle });
  return claimed[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Options (the JSON shapes @simplewebauthn/browser takes)

export type CredentialDescriptor = { id: string; type: "public-key"; transports?: string[] };

export function registrationOptions(
  rp: RelyingParty,
  challenge: string,
  user: { handle: string; name: string; displayName: string },
  exclude: CredentialDescriptor[],
) {
  return {
    challenge,
    rp: { id: rp.id, name: rp.name },
    user: { id: user.handle, name: user.name, displayName: user.displayName },
    pubKeyCredParams: [
      { type: "public-key" as const, alg: coseAlgorithmES256 },
      { type: "public-key" as const, alg: coseAlgorithmRS256 },
    ],
    timeout: CEREMONY_TIMEOUT_MS,
    // We trust no attestation, so we ask for none (no device model is sent to us).
    attestation: "none" as const,
    excludeCredentials: exclude,
    // A discoverable credential (sign-in without typing an email) with user verification, so every
    // passkey stored can satisfy a second factor (rule 35).
    authenticatorSelection: { residentKey: "required" as const, requireResidentKey: true, userVerification: "required" as const },
  };
}

export function authenticationOptions(rp: RelyingParty, challenge: string, allow: CredentialDescriptor[], userVerification: "required" | "preferred") {
  return { challenge, rpId: rp.id, timeout: CEREMONY_TIMEOUT_MS, allowCredentials: allow, userVerification };
}

export function descriptorOf(credential: Pick<WebauthnCredential, "credentialId" | "transports">): CredentialDescriptor {
  const transports = parseTransports(credential.transports);
  return transports.length ? { id: credential.credentialId, type: "public-key", transports } : { id: credential.credentialId, type: "public-key" };
}

const TRANSPORTS = new Set(["usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"]);

function parseTransports(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const list = JSON.parse(stored) as unknown;
    return Array.isArray(list) ? list.filter((t): t is string => typeof t === "string" && TRANSPORTS.has(t)) : [];
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// What browsers send

const base64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+={0,2}$/);

export const registrationResponseSchema = z.object({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: base64url(4096),
    attestationObject: base64url(16_384),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
});

export const assertionResponseSchema = z.object({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: base64url(4096),
    authenticatorData: base64url(4096),
    signature: base64url(2048),
    userHandle: base64url(256).nullish(),
  }),
});

export type RegistrationResponse = z.infer<typeof registrationResponseSchema>;
export type AssertionResponse = z.infer<typeof assertionResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Verification

const REFUSED = "That passkey could not be used. Try again.";
const EXPIRED = "That passkey request expired or was already used. Try again.";

/** Flags the parser does not expose: backup eligibility (BE, bit 3) and backup state (BS, bit 4). */
function backupFlags(authenticatorData: Uint8Array): { backupEligible: boolean; backedUp: boolean } {
  return { backupEligible: (authenticatorData[32] & 0x08) !== 0, backedUp: (authenticatorData[32] & 0x10) !== 0 };
}

function decode(value: string): Uint8Array | null {
  try {
    return decodeBase64urlIgnorePadding(value);
  } catch {
    return null;
  }
}

/** Origin, type and challenge of the client data; the challenge is claimed here, before anything else is trusted. */
async function checkClientData(
  db: Database,
  rp: RelyingParty,
  clientDataJSON: Uint8Array,
  type: ClientDataType,
  scope: ChallengeScope,
  now: number,
): Promise<Refusal | { userHandle: string | null }> {
  let clientData;
  try {
    clientData = parseClientDataJSON(clientDataJSON);
  } catch {
    return refuse(422, REFUSED);
  }
  if (clientData.type !== type) return refuse(422, REFUSED);
  // The origin binds the passkey to this site: a phishing page's origin is another one.
  if (clientData.origin !== rp.origin || clientData.crossOrigin === true) return refuse(403, "That passkey request came from another website.");
  return (await claimChallenge(db, clientData.challenge, scope, now)) ?? refuse(400, EXPIRED);
}

function checkAuthenticatorData(rp: RelyingParty, authenticatorData: AuthenticatorData): Refusal | null {
  if (!authenticatorData.verifyRelyingPartyIdHash(rp.id)) return refuse(403, "That passkey belongs to another website.");
  if (!authenticatorData.userPresent) return refuse(422, REFUSED);
  return null;
}

export type NewCredential = {
  credentialId: string;
  userHandle: string;
  publicKey: string;
  algorithm: number;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
  transports: string | null;
};

const P256_SIZE = 32;

/**
 * A P-256 public key as SEC1 uncompressed bytes: 0x04, then x and y, each left-padded to 32 bytes. Not
 * `ECDSAPublicKey.encodeSEC1Uncompressed()`: @oslojs/crypto 1.0.1 does not pad y, so a key whose y is
 * shorter than 32 bytes (about one in 256) was stored with y shifted left and could never sign in.
 */
export function sec1Uncompressed(x: bigint, y: bigint): Uint8Array {
  const bytes = new Uint8Array(1 + 2 * P256_SIZE);
  bytes[0] = 0x04;
  for (const [offset, value] of [[1, x], [1 + P256_SIZE, y]] as const) {
    let rest = value;
    for (let i = offset + P256_SIZE - 1; i >= offset; i--, rest >>= 8n) bytes[i] = Number(rest & 0xffn);
  }
  return bytes;
}

/**
 * The stored ES256 key as a point. A key stored before `sec1Uncompressed` (y shifted left by its missing
 * leading zero bytes, so off the curve) is read back as the key that was registered: shifting y right until
 * the point is on the curve undoes exactly that slip, and a key that was stored right is already on it.
 */
function storedECDSAKey(publicKey: Uint8Array): ECDSAPublicKey {
  const key = decodeSEC1PublicKey(p256, publicKey);
  let y = key.y;
  for (let shift = 0; shift < P256_SIZE && !p256.isOnCurve({ x: key.x, y }) && (y & 0xffn) === 0n; shift++) y >>= 8n;
  return p256.isOnCurve({ x: key.x, y }) ? new ECDSAPublicKey(p256, key.x, y) : key;
}

/** The credential's public key as we store it, or null for an algorithm we do not accept. */
function storedPublicKey(authenticatorData: AuthenticatorData): { publicKey: string; algorithm: number } | null {
  const key = authenticatorData.credential?.publicKey;
  if (!key) return null;
  try {
    const algorithm = key.algorithm();
    if (algorithm === coseAlgorithmES256 && key.type() === COSEKeyType.EC2) {
      const ec2 = key.ec2();
      if (ec2.curve !== coseEllipticCurveP256) return null;
      return { publicKey: encodeBase64(sec1Uncompressed(ec2.x, ec2.y)), algorithm };
    }
    if (algorithm === coseAlgorithmRS256 && key.type() === COSEKeyType.RSA) {
      const rsa = key.rsa();
      return { publicKey: encodeBase64(new RSAPublicKey(rsa.n, rsa.e).encodePKCS1()), algorithm };
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Verifies a registration (attestation "none": the statement is not checked, the key is trusted on first
 * use): client data of type create from our origin with the unclaimed challenge, our RP ID, user present
 * and verified, an ES256 or RS256 key.
 */
export async function verifyRegistration(
  db: Database,
  rp: RelyingParty,
  response: RegistrationResponse,
  scope: ChallengeScope,
  now = Date.now(),
): Promise<Result<{ credential: NewCredential }>> {
  const clientDataJSON = decode(response.response.clientDataJSON);
  const attestationObject = decode(response.response.attestationObject);
  const rawId = decode(response.rawId);
  if (!clientDataJSON || !attestationObject || !rawId || response.id !== encodeBase64urlNoPadding(rawId)) return refuse(422, REFUSED);
  const claimed = await checkClientData(db, rp, clientDataJSON, ClientDataType.Create, scope, now);
  if ("ok" in claimed) return claimed;
  if (!claimed.userHandle) return refuse(400, EXPIRED);
  let authenticatorData: AuthenticatorData;
  let rawAuthenticatorData: Uint8Array;
  try {
    const parsed = parseAttestationObject(attestationObject);
    authenticatorData = parsed.authenticatorData;
    rawAuthenticatorData = rawAuthenticatorDataOf(attestationObject);
  } catch {
    return refuse(422, REFUSED);
  }
  const refused = checkAuthenticatorData(rp, authenticatorData);
  if (refused) return refused;
  if (!authenticatorData.userVerified) return refuse(422, "Your device did not verify you (fingerprint, face or PIN). Try again.");
  const credential = authenticatorData.credential;
  if (!credential || credential.id.length > 1023 || encodeBase64urlNoPadding(credential.id) !== response.id) return refuse(422, REFUSED);
  const key = storedPublicKey(authenticatorData);
  if (!key) return refuse(422, "This kind of passkey is not supported. Try another device.");
  const transports = (response.response.transports ?? []).filter((t) => TRANSPORTS.has(t));
  return {
    ok: true,
    credential: {
      credentialId: response.id,
      userHandle: claimed.userHandle,
      ...key,
      signCount: authenticatorData.signatureCounter,
      ...backupFlags(rawAuthenticatorData),
      transports: transports.length ? JSON.stringify(transports) : null,
    },
  };
}

/**
 * The authenticator data bytes inside an attestation object (the parser gives them only parsed, and the
 * backup flags need the raw flags byte): the "authData" byte string of the top-level CBOR map.
 */
function rawAuthenticatorDataOf(attestationObject: Uint8Array): Uint8Array {
  const reader = { bytes: attestationObject, at: 0 };
  const map = readHead(reader);
  if (map.major !== 5) throw new Error("the attestation object is not a map");
  for (let i = 0; i < map.value; i++) {
    const key = readItem(reader);
    const valueStart = reader.at;
    const value = readHead(reader);
    if (key === "authData" && value.major === 2) return attestationObject.slice(reader.at, reader.at + value.value);
    reader.at = valueStart;
    readItem(reader);
  }
  throw new Error("no authData in the attestation object");
}

type CborReader = { bytes: Uint8Array; at: number };

/** A CBOR item head (major type and argument); indefinite lengths and 8-byte arguments are refused. */
function readHead(reader: CborReader): { major: number; value: number } {
  if (reader.at >= reader.bytes.length) throw new Error("CBOR: out of bytes");
  const head = reader.bytes[reader.at++];
  const major = head >> 5;
  const info = head & 0x1f;
  if (info < 24) return { major, value: info };
  const size = { 24: 1, 25: 2, 26: 4 }[info];
  if (!size || reader.at + size > reader.bytes.length) throw new Error("CBOR: unsupported length");
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + reader.bytes[reader.at++];
  return { major, value };
}

/** Skips one CBOR item (returning it when it is a text string), checking it fits in the bytes. */
function readItem(reader: CborReader, depth = 0): string | null {
  if (depth > 16) throw new Error("CBOR: too deep");
  const { major, value } = readHead(reader);
  if (major === 2 || major === 3) {
    if (reader.at + value > reader.bytes.length) throw new Error("CBOR: out of bytes");
    const start = reader.at;
    reader.at += value;
    return major === 3 ? new TextDecoder().decode(reader.bytes.slice(start, reader.at)) : null;
  }
  if (major === 4 || major === 5) {
    for (let i = 0; i < value * (major === 5 ? 2 : 1); i++) readItem(reader, depth + 1);
  } else if (major === 6) readItem(reader, depth + 1);
  return null;
}

export type VerifiedAssertion = {
  credential: WebauthnCredential;
  userVerified: boolean;
  signCount: number;
  backedUp: boolean;
};

/**
 * Verifies an assertion: client data of type get from our origin with the unclaimed challenge, our RP ID,
 * user present, a credential that `findCredential` knows (it decides whose and which firm's it may be),
 * the user handle it was registered under, a valid signature, and a signature counter that moved forward
 * (or stays 0 for authenticators that keep none). The caller records the new counter and last use.
 */
export async function verifyAssertion(
  db: Database,
  rp: RelyingParty,
  response: AssertionResponse,
  scope: ChallengeScope,
  findCredential: (credentialId: string) => Promise<WebauthnCredential | null>,
  now = Date.now(),
): Promise<Result<VerifiedAssertion>> {
  const clientDataJSON = decode(response.response.clientDataJSON);
  const rawAuthenticatorData = decode(response.response.authenticatorData);
  const signature = decode(response.response.signature);
  const rawId = decode(response.rawId);
  if (!clientDataJSON || !rawAuthenticatorData || !signature || !rawId || response.id !== encodeBase64urlNoPadding(rawId)) return refuse(422, REFUSED);
  const claimed = await checkClientData(db, rp, clientDataJSON, ClientDataType.Get, scope, now);
  if ("ok" in claimed) return claimed;
  let authenticatorData: AuthenticatorData;
  try {
    authenticatorData = parseAuthenticatorData(rawAuthenticatorData);
  } catch {
    return refuse(422, REFUSED);
  }
  const refused = checkAuthenticatorData(rp, authenticatorData);
  if (refused) return refused;
  const credential = await findCredential(response.id);
  if (!credential) return refuse(401, "This passkey is not registered for this sign-in. Use your password, or another passkey.");
  if (response.response.userHandle && response.response.userHandle.replace(/=+$/, "") !== credential.userHandle) return refuse(401, REFUSED);
  const message = createAssertionSignatureMessage(rawAuthenticatorData, clientDataJSON);
  if (!signatureValid(credential, message, signature)) return refuse(401, REFUSED);
  const counter = authenticatorData.signatureCounter;
  // A counter that does not move forward means a cloned authenticator (or a replayed assertion).
  if ((counter !== 0 || credential.signCount !== 0) && counter <= credential.signCount) return refuse(401, REFUSED);
  return { ok: true, credential, userVerified: authenticatorData.userVerified, signCount: counter, backedUp: backupFlags(rawAuthenticatorData).backedUp };
}

function signatureValid(credential: WebauthnCredential, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const publicKey = decodeBase64(credential.publicKey);
    const hash = sha256(message);
    if (credential.algorithm === coseAlgorithmES256) {
      return verifyECDSASignature(storedECDSAKey(publicKey), hash, decodePKIXECDSASignature(signature));
    }
    if (credential.algorithm === coseAlgorithmRS256) {
      return verifyRSASSAPKCS1v15Signature(decodePKCS1RSAPublicKey(publicKey), sha256ObjectIdentifier, hash, signature);
    }
  } catch {
    return false;
  }
  return false;
}

/** The statement that records a verified assertion on its credential. */
export function recordCredentialUse(db: Database, assertion: VerifiedAssertion, now = Date.now()): Statement {
  return db
    .update(webauthnCredentials)
    .set({ signCount: assertion.signCount, backedUp: assertion.backedUp, lastUsedAt: now })
    .where(eq(webauthnCredentials.id, assertion.credential.id));
}

/** A fresh random user handle: 32 bytes, never derived from an email (a passkey list must not reveal who). */
export function newUserHandle(): string {
  return encodeBase64urlNoPadding(randomBytes(32));
}

/**
 * A ceremony request's body, read (readCeremonyBody) and checked against the route's schema: 413 or 400 as
 * read, 422 when it does not fit. Every passkey route starts here.
 */
export async function parseCeremony<T extends z.ZodTypeAny>(request: Request, schema: T): Promise<Result<{ data: z.infer<T> }>> {
  const body = await readCeremonyBody(request);
  if (!body.ok) return body;
  const parsed = schema.safeParse(body.body);
  return parsed.success ? { ok: true, data: parsed.data } : refuse(422, "The request could not be read.");
}

/** The JSON a passkey route answers a refusal with (the page's script shows `error`). */
export function ceremonyRefused(refusal: Refusal<string>) {
  return json({ ok: false as const, error: refusal.error }, { status: refusal.status });
}

/** The answer to an options step: the options for the browser's ceremony, or the refusal. */
export function ceremonyOptions(result: Result<{ options: Record<string, unknown> }>, headers?: Headers) {
  return result.ok ? json({ ok: true as const, options: result.options }, { headers }) : ceremonyRefused(result);
}

/** Reads a ceremony's JSON body: 413 over the size limit, 400 when it is not JSON. */
export async function readCeremonyBody(request: Request): Promise<Result<{ body: unknown }>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_CEREMONY_BODY_BYTES) return refuse(413, "The request is too large.");
  let text: string;
  try {
    const bytes = await request.arrayBuffer();
    if (bytes.byteLength > MAX_CEREMONY_BODY_BYTES) return refuse(413, "The request is too large.");
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return refuse(400, "The request could not be read.");
  }
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return refuse(400, "The request could not be read.");
  }
}
