// The per-firm security log. Callers add the returned statement to the batch of the change it records.
import { auditEvents } from "../../db/schema";
import { generateId } from "./crypto.server";
import type { Database } from "./db.server";

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
