// Per-firm keys of the public API (SECURITY.md rule 36). A key reads `cpk_<id>_<secret>`: the id finds
// the row, the secret (32 random bytes, base64url) is checked against its stored SHA-256 with a
// constant-time compare. The key is shown once, at creation; nothing stored can be turned back into it.
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { apiKeys, firms, type ApiKeyScope } from "../../../db/schema";
import { auditEvent, type AuditActor } from "../audit.server";
import { constantTimeEqual, generateToken, sha256Hex } from "../crypto.server";
import { runBatch, type Database } from "../db.server";
import type { Firm } from "../types";
import type { StaffAuth } from "../staff/staff-auth.server";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

export const API_KEY_PREFIX = "cpk_";
export const MAX_API_KEYS_PER_FIRM = 50;

export type ApiKey = typeof apiKeys.$inferSelect;
export type AuthenticatedKey = { key: ApiKey; firm: Firm };

export const apiKeyFormSchema = z.object({
  name: z
    .string({ required_error: "Enter a name for the key.", invalid_type_error: "Enter a name for the key." })
    .trim()
    .min(1, "Enter a name for the key.")
    .max(80, "Keep the name under 80 characters.")
    // Printable text only: the name is shown in the audit log as "api_key:<name>".
    .regex(/^[^\p{C}]+$/u, "Use letters, digits, spaces and punctuation only."),
  scope: z.enum(["read", "read_write"], { message: "Choose read or read and write." }),
});

/** 32 lowercase hex characters: no "_", so the key splits unambiguously. */
function newKeyId(): string {
  return crypto.randomUUID().replace(/-/g, "");
}

/** Splits a presented key; anything that is not exactly our format is no key at all. */
export function parseApiKey(value: string): { id: string; secret: string } | null {
  const match = /^cpk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/.exec(value);
  return match ? { id: match[1], secret: match[2] } : null;
}

/** The part of a key shown in lists, enough to tell keys apart and nothing to sign in with. */
export function keyHint(id: string): string {
  return `${API_KEY_PREFIX}${id.slice(0, 8)}…`;
}

export async function createApiKey(
  db: Database,
  auth: StaffAuth,
  input: { name: string; scope: ApiKeyScope },
  meta: { ip: string; userAgent: string },
): Promise<{ ok: true; key: string; id: string } | { ok: false; error: string }> {
  const live = await db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.firmId, auth.firm.id), isNull(apiKeys.revokedAt)));
  if (live.length >= MAX_API_KEYS_PER_FIRM) return { ok: false, error: `A firm can have at most ${MAX_API_KEYS_PER_FIRM} active keys. Revoke one first.` };
  const id = newKeyId();
  const secret = generateToken();
  await runBatch(db, [
    db.insert(apiKeys).values({
      id,
      firmId: auth.firm.id,
      name: input.name,
      scope: input.scope,
      keyHash: await sha256Hex(secret),
      createdByStaffId: auth.staff.id,
      createdAt: Date.now(),
    }),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "api_key.created",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      detail: { keyId: id, name: input.name, scope: input.scope },
      ...meta,
    }),
  ]);
  return { ok: true, key: `${API_KEY_PREFIX}${id}_${secret}`, id };
}

export async function listApiKeys(db: Database, firmId: Ref, read: Read = direct) {
  const query = db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      scope: apiKeys.scope,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.firmId, firmId))
    .orderBy(desc(apiKeys.createdAt));
  const rows = await read(query);
  return rows.map((row) => ({ ...row, hint: keyHint(row.id) }));
}

/** Revokes a key of this firm. The next call with it gets 401: every call reads the key from D1. */
export async function revokeApiKey(db: Database, auth: StaffAuth, keyId: string, meta: { ip: string; userAgent: string }): Promise<boolean> {
  const key = await db.query.apiKeys.findFirst({ where: and(eq(apiKeys.id, keyId), eq(apiKeys.firmId, auth.firm.id), isNull(apiKeys.revokedAt)) });
  if (!key) return false;
  await runBatch(db, [
    db.update(apiKeys).set({ revokedAt: Date.now() }).where(and(eq(apiKeys.id, key.id), eq(apiKeys.firmId, auth.firm.id))),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "api_key.revoked",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      detail: { keyId: key.id, name: key.name },
      ...meta,
    }),
  ]);
  return true;
}

/** The live key (and its firm) a request presents, or null: unknown, malformed, wrong secret or revoked. */
export async function authenticateApiKey(db: Database, presented: string): Promise<AuthenticatedKey | null> {
  const parts = parseApiKey(presented);
  if (!parts) return null;
  const [row] = await db
    .select({ key: apiKeys, firm: firms })
    .from(apiKeys)
    .innerJoin(firms, eq(firms.id, apiKeys.firmId))
    .where(eq(apiKeys.id, parts.id))
    .limit(1);
  // Hash even when the id is unknown, so a miss and a wrong secret take the same time.
  const hash = await sha256Hex(parts.secret);
  if (!row || !constantTimeEqual(hash, row.key.keyHash) || row.key.revokedAt !== null) return null;
  return row;
}

export function apiKeyActor(key: Pick<ApiKey, "id" | "name">): AuditActor {
  return { type: "api", id: key.id, label: `api_key:${key.name}` };
}

/**
 * Records one use of a key: the audit event (one per call, with the route and the answer's status) and
 * the key's last-used time, in one batch.
 */
export async function recordApiKeyUse(
  db: Database,
  key: ApiKey,
  use: { method: string; route: string; status: number; ip: string; userAgent: string },
  now = Date.now(),
): Promise<void> {
  await runBatch(db, [
    db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id)),
    auditEvent(db, {
      firmId: key.firmId,
      type: "api_key.used",
      actor: apiKeyActor(key),
      detail: { method: use.method, route: use.route, status: use.status },
      ip: use.ip,
      userAgent: use.userAgent,
      at: now,
    }),
  ]);
}
