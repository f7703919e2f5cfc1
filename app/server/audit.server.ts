// The per-firm security log. Callers add the returned statement to the batch of the change it records.
import { and, desc, eq, gte, lt, or } from "drizzle-orm";
import { z } from "zod";
import { auditEvents } from "../../db/schema";
import { generateId } from "./crypto.server";
import type { Database } from "./db.server";
import { direct, type Read } from "./read-batch.server";
import type { Ref } from "./types";

export type AuditActor =
  | { type: "staff"; id: string; label: string }
  | { type: "client"; id: string | null; label: string }
  | { type: "system" }
  | { type: "api"; id: string; label: string };

export type AuditInput = {
  firmId: string;
  type: string;
  actor: AuditActor;
  contactId?: string | null;
  detail?: Record<string, unknown>;
  ip?: string | null;
  userAgent?: string | null;
  at?: number;
};

export function auditEvent(db: Database, input: AuditInput) {
  return db.insert(auditEvents).values(auditRow(input));
}

export function auditRow(input: AuditInput): typeof auditEvents.$inferInsert {
  const actor = input.actor;
  return {
    id: generateId(),
    firmId: input.firmId,
    at: input.at ?? Date.now(),
    type: input.type,
    actorType: actor.type,
    actorId: actor.type === "system" ? null : actor.id,
    actorLabel: actor.type === "system" ? "System" : actor.label,
    contactId: input.contactId ?? null,
    detail: input.detail ? JSON.stringify(input.detail) : null,
    ip: input.ip ?? null,
    userAgent: input.userAgent ? input.userAgent.slice(0, 300) : null,
  };
}

export const AUDIT_PAGE_SIZE = 50;

export type AuditFilter = { type?: string; contactId?: string; from?: string; to?: string; before?: string | null };

/** A page of a firm's audit log, newest first, keyset-paginated on (at, id). */
export async function listAuditEvents(db: Database, firmId: Ref, filter: AuditFilter, limit = AUDIT_PAGE_SIZE, read: Read = direct) {
  const [beforeAt, beforeId] = filter.before ? filter.before.split("_") : [];
  const query = db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.firmId, firmId),
        filter.type ? eq(auditEvents.type, filter.type) : undefined,
        filter.contactId ? eq(auditEvents.contactId, filter.contactId) : undefined,
        filter.from ? gte(auditEvents.at, Date.parse(`${filter.from}T00:00:00Z`)) : undefined,
        filter.to ? lt(auditEvents.at, Date.parse(`${filter.to}T00:00:00Z`) + 24 * 60 * 60_000) : undefined,
        beforeAt && beforeId
          ? or(lt(auditEvents.at, Number(beforeAt)), and(eq(auditEvents.at, Number(beforeAt)), lt(auditEvents.id, beforeId)))
          : undefined,
      ),
    )
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit + 1);
  const rows = await read(query);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > limit && last ? `${last.at}_${last.id}` : null };
}

/** The event types a firm has, for the filter. */
export async function auditEventTypes(db: Database, firmId: Ref, read: Read = direct): Promise<string[]> {
  const rows = await read(db.selectDistinct({ type: auditEvents.type }).from(auditEvents).where(eq(auditEvents.firmId, firmId)).orderBy(auditEvents.type));
  return rows.map((r) => r.type);
}

/** The audit log's filters, from the query string; anything malformed is ignored. */
const dateField = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  // A real calendar day: "2026-13-01" would compare as NaN and hide every event, "2026-02-31" would mean March 3.
  .refine((day) => {
    const ms = Date.parse(`${day}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === day;
  })
  .optional()
  .catch(undefined);
export const auditQuery = z.object({
  type: z.string().max(80).regex(/^[a-z_.]*$/).optional().catch(undefined),
  contact: z.string().max(64).regex(/^[A-Za-z0-9_-]*$/).optional().catch(undefined),
  from: dateField,
  to: dateField,
  before: z.string().max(120).regex(/^\d+_[A-Za-z0-9_-]+$/).optional().catch(undefined),
});
