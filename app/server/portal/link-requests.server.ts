// Self-service access links: "email me a link", by typed address or from a declined or expired link.
// The answer never says whether the address belongs to anyone; the work runs after the response.
import { and, eq, isNull } from "drizzle-orm";
import { contacts } from "../../../db/schema";
import { createAccessLink, publishLink } from "./access-links.server";
import { auditEvent } from "../audit.server";
import { runBatch, type Database } from "../db.server";
import { deliverSoon } from "../outbox-delivery.server";
import type { Contact, Firm } from "../types";
import { type Meta, findContactByEmail } from "./account-tokens.server";

// ---------------------------------------------------------------------------------------------
// Access links requested by the client

/** Sends a fresh self-service link to a contact (15 minutes; voids their older unclaimed ones). */
export async function sendSelfServiceLink(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, contact: Contact, meta: Meta) {
  const link = await createAccessLink(db, env, { firm, contact, purpose: "self_service" });
  await runBatch(db, [
    ...link.statements,
    auditEvent(db, {
      firmId: firm.id,
      type: "access_link.sent",
      actor: { type: "client", id: contact.id, label: contact.email },
      contactId: contact.id,
      detail: { purpose: "self_service" },
      ip: meta.ip,
      userAgent: meta.userAgent,
    }),
  ]);
  await publishLink(env.LINKS, link.token, link.record);
  deliverSoon(env, ctx, db);
}

/** "Email me a link" with a typed address. Resolves the address after the response. */
export function requestLinkByEmail(db: Database, env: Env, ctx: ExecutionContext, firm: Firm, email: string, meta: Meta): void {
  ctx.waitUntil(
    (async () => {
      const found = await findContactByEmail(db, firm.id, email);
      if (found) await sendSelfServiceLink(db, env, ctx, firm, found.contact, meta);
    })().catch((error) => console.error("requestLinkByEmail failed", error)),
  );
}

/** "Email me a new link" from a declined or expired link: to the address on file, nothing typed. */
export function requestLinkForRecord(db: Database, env: Env, ctx: ExecutionContext, record: { firmId: string; contactId: string }, meta: Meta): void {
  ctx.waitUntil(
    (async () => {
      const [row] = await db
        .select({ contact: contacts })
        .from(contacts)
        .where(and(eq(contacts.id, record.contactId), eq(contacts.firmId, record.firmId), isNull(contacts.deletedAt)))
        .limit(1);
      const firm = await db.query.firms.findFirst({ where: (f, { eq }) => eq(f.id, record.firmId) });
      if (row && firm) await sendSelfServiceLink(db, env, ctx, firm, row.contact, meta);
    })().catch((error) => console.error("requestLinkForRecord failed", error)),
  );
}
