// The client's own account page: recent sign-ins and "sign out of all devices".
import { and, desc, eq, inArray } from "drizzle-orm";
import { auditEvents } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { runBatch, type Database } from "../db.server";
import type { PortalAuth } from "./portal-auth.server";
import { revokeContactCredentials } from "../auth/sessions.server";
import type { RequestMeta } from "../request-meta.server";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

const SIGN_IN_EVENTS = ["client.signed_in", "access_link.claimed", "access_link.reopened", "client.recovery_code_used"];

export async function recentSignIns(db: Database, session: { firm: Ref; contact: Ref }, read: Read = direct, limit = 10) {
  return read(
    db
      .select({ type: auditEvents.type, at: auditEvents.at, ip: auditEvents.ip, userAgent: auditEvents.userAgent })
      .from(auditEvents)
      .where(and(eq(auditEvents.contactId, session.contact), eq(auditEvents.firmId, session.firm), inArray(auditEvents.type, SIGN_IN_EVENTS)))
      .orderBy(desc(auditEvents.at))
      .limit(limit),
  );
}

export async function clientSignOutEverywhere(db: Database, auth: PortalAuth, meta: RequestMeta): Promise<void> {
  await runBatch(db, [
    ...revokeContactCredentials(db, auth.contact.id),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "client.signed_out_everywhere",
      actor: { type: "client", id: auth.contact.id, label: auth.account?.email ?? auth.contact.email },
      contactId: auth.contact.id,
      ...meta,
    }),
  ]);
}
