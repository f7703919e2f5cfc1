// Magic links ("access links"). The emailed token is 32 random bytes; only its SHA-256 is stored.
// D1 holds the authoritative record and the claim, so a link is claimed exactly once even under
// concurrency. KV holds a copy for fast reads at the edge, never trusted for single use: it is
// eventually consistent, so a KV miss is checked against D1 before a link is called unknown.
import { and, eq, gt, isNull, type SQL } from "drizzle-orm";
import { accessLinks, contacts, firms, outbox, portalAccounts, sessions, type AccessLinkPurpose } from "../../db/schema";
import { generateId, generateToken, sha256Hex } from "./crypto.server";
import { auditEvent } from "./audit.server";
import { insertWhere, runBatch, type Database, type Statement } from "./db.server";
import { accessLinkEmail } from "./emails.server";
import { outboxRow, queueEmail, sealEmail } from "./outbox.server";
import type { PortalAuth } from "./portal-auth.server";
import { issueSession, LINK_SESSION_MS } from "./sessions.server";

export const STAFF_LINK_VALIDITY_MS = 14 * 24 * 60 * 60_000;
export const SELF_SERVICE_LINK_VALIDITY_MS = 15 * 60_000;

const VALIDITY: Record<AccessLinkPurpose, number> = {
  staff: STAFF_LINK_VALIDITY_MS,
  invite: STAFF_LINK_VALIDITY_MS,
  self_service: SELF_SERVICE_LINK_VALIDITY_MS,
};

type Firm = typeof firms.$inferSelect;
type Contact = typeof contacts.$inferSelect;
export type AccessLink = typeof accessLinks.$inferSelect;

/** What KV holds for a link: enough to render the landing page without touching D1. */
export type LinkRecord = {
  id: string;
  firmId: string;
  firmSlug: string;
  firmName: string;
  contactId: string;
  purpose: AccessLinkPurpose;
  expiresAt: number;
};

function kvKey(tokenHash: string): string {
  return `link:${tokenHash}`;
}

export function linkUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/$/, "")}/l/${token}`;
}

export type NewAccessLink = { token: string; url: string; record: LinkRecord; statements: Statement[] };

/**
 * Builds a link with its email. The caller runs `statements` in one batch with whatever else caused
 * the link (an audit event, a request being sent), then calls `publishLink` to copy it to KV.
 */
export async function createAccessLink(
  db: Database,
  env: Env,
  input: {
    firm: Firm;
    contact: Contact;
    purpose: AccessLinkPurpose;
    requestId?: string | null;
    requestTitle?: string | null;
    /** Write the link and its email only if this holds when the batch runs (e.g. a reminder's day claim). */
    onlyIf?: SQL;
  },
  now = Date.now(),
): Promise<NewAccessLink> {
  const token = generateToken();
  const tokenHash = await sha256Hex(token);
  const record: LinkRecord = {
    id: generateId(),
    firmId: input.firm.id,
    firmSlug: input.firm.slug,
    firmName: input.firm.name,
    contactId: input.contact.id,
    purpose: input.purpose,
    expiresAt: now + VALIDITY[input.purpose],
  };
  const url = linkUrl(env.APP_URL, token);
  const statements: Statement[] = [];
  if (input.purpose === "self_service") {
    // A new self-service link voids the older unclaimed ones of the same contact.
    statements.push(
      db
        .update(accessLinks)
        .set({ revokedAt: now })
        .where(
          and(
            eq(accessLinks.contactId, input.contact.id),
            eq(accessLinks.purpose, "self_service"),
            isNull(accessLinks.claimedAt),
            isNull(accessLinks.revokedAt),
          ),
        ),
    );
  }
  const linkRow: typeof accessLinks.$inferInsert = {
    id: record.id,
    tokenHash,
    firmId: record.firmId,
    contactId: record.contactId,
    purpose: record.purpose,
    requestId: input.requestId ?? null,
    createdAt: now,
    expiresAt: record.expiresAt,
  };
  const email = accessLinkEmail({ firm: input.firm, contact: input.contact, url, purpose: input.purpose, requestTitle: input.requestTitle ?? null });
  if (input.onlyIf) {
    statements.push(insertWhere(db, accessLinks, linkRow, input.onlyIf), insertWhere(db, outbox, outboxRow(await sealEmail(env, email, now)), input.onlyIf));
  } else {
    statements.push(db.insert(accessLinks).values(linkRow), queueEmail(db, await sealEmail(env, email, now)));
  }
  return { token, url, record, statements };
}

/** Copies a committed link to KV for fast edge reads, with a TTL (KV needs at least 60 s). */
export async function publishLink(kv: KVNamespace, token: string, record: LinkRecord, now = Date.now()): Promise<void> {
  const ttl = Math.max(60, Math.ceil((record.expiresAt - now) / 1000));
  await kv.put(kvKey(await sha256Hex(token)), JSON.stringify(record), { expirationTtl: ttl });
}

/** The landing page's view of a link: KV first, D1 on a miss (a fresh link may not have spread yet). */
export async function findLink(db: Database, kv: KVNamespace, token: string): Promise<LinkRecord | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const tokenHash = await sha256Hex(token);
  const cached = await kv.get<LinkRecord>(kvKey(tokenHash), "json");
  if (cached) return cached;
  const [row] = await db
    .select({ link: accessLinks, firm: firms })
    .from(accessLinks)
    .innerJoin(firms, eq(firms.id, accessLinks.firmId))
    .where(eq(accessLinks.tokenHash, tokenHash))
    .limit(1);
  if (!row) return null;
  return {
    id: row.link.id,
    firmId: row.firm.id,
    firmSlug: row.firm.slug,
    firmName: row.firm.name,
    contactId: row.link.contactId,
    purpose: row.link.purpose,
    expiresAt: row.link.expiresAt,
  };
}

export type ClaimResult =
  | { status: "claimed"; token: string; link: AccessLink; firm: Firm; auth: PortalAuth }
  | { status: "claimed_elsewhere" | "expired" | "unknown"; link: AccessLink | null; firm: Firm | null };

/**
 * Claims a link for one browser and opens a link session. The conditional UPDATE is the claim:
 * of any number of concurrent POSTs, exactly one changes the row. The same browser may open the
 * link again for 30 days from the claim; any other browser is declined.
 */
export async function claimAccessLink(
  db: Database,
  input: { token: string; deviceId: string; ip: string; userAgent: string },
  now = Date.now(),
): Promise<ClaimResult> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(input.token)) return { status: "unknown", link: null, firm: null };
  const tokenHash = await sha256Hex(input.token);
  const deviceHash = await sha256Hex(`device:${input.deviceId}`);
  const claimed = await db
    .update(accessLinks)
    .set({ claimedAt: now, claimedDeviceHash: deviceHash, sessionExpiresAt: now + LINK_SESSION_MS })
    .where(
      and(
        eq(accessLinks.tokenHash, tokenHash),
        isNull(accessLinks.claimedAt),
        isNull(accessLinks.revokedAt),
        gt(accessLinks.expiresAt, now),
      ),
    )
    .returning();
  const [row] = await db
    .select({ link: accessLinks, firm: firms, contact: contacts, account: portalAccounts })
    .from(accessLinks)
    .innerJoin(firms, eq(firms.id, accessLinks.firmId))
    .innerJoin(contacts, eq(contacts.id, accessLinks.contactId))
    .leftJoin(portalAccounts, eq(portalAccounts.contactId, accessLinks.contactId))
    .where(eq(accessLinks.tokenHash, tokenHash))
    .limit(1);
  if (!row) return { status: "unknown", link: null, firm: null };
  const { link, firm, contact, account } = row;
  const mine = claimed.length === 1 || (link.claimedDeviceHash === deviceHash && link.claimedAt !== null);
  if (!mine) {
    const stillValid = !link.revokedAt && (link.claimedAt ? true : link.expiresAt > now);
    return { status: stillValid ? "claimed_elsewhere" : "expired", link, firm };
  }
  if (link.revokedAt || contact.deletedAt || (link.sessionExpiresAt ?? 0) <= now) return { status: "expired", link, firm };
  const issued = await issueSession(
    db,
    {
      kind: "client_link",
      firmId: firm.id,
      contactId: link.contactId,
      accessLinkId: link.id,
      expiresAt: link.sessionExpiresAt!,
      ip: input.ip,
      userAgent: input.userAgent,
    },
    now,
  );
  await runBatch(db, [
    issued.insert,
    auditEvent(db, {
      firmId: firm.id,
      type: claimed.length === 1 ? "access_link.claimed" : "access_link.reopened",
      actor: { type: "client", id: contact.id, label: contact.email },
      contactId: contact.id,
      detail: { purpose: link.purpose },
      ip: input.ip,
      userAgent: input.userAgent,
    }),
  ]);
  return { status: "claimed", token: issued.token, link, firm, auth: { session: issued.session, firm, contact, account } };
}

/** Staff "Revoke access links": every link of the contact stops working, with its sessions. */
export async function revokeContactLinks(db: Database, kv: KVNamespace, contactId: string, now = Date.now()): Promise<Statement[]> {
  const live = await db
    .select({ tokenHash: accessLinks.tokenHash })
    .from(accessLinks)
    .where(and(eq(accessLinks.contactId, contactId), isNull(accessLinks.revokedAt)));
  // KV copies are only a cache of the landing page; the claim checks D1, so deleting them is tidy-up.
  await Promise.all(live.map((l) => kv.delete(kvKey(l.tokenHash))));
  return [
    db.update(accessLinks).set({ revokedAt: now }).where(and(eq(accessLinks.contactId, contactId), isNull(accessLinks.revokedAt))),
    db.delete(sessions).where(and(eq(sessions.contactId, contactId), eq(sessions.kind, "client_link"))),
  ];
}

/** Staff "Send portal link" / "Send portal invite": a 14-day link emailed to the contact. */
export async function sendStaffLink(
  db: Database,
  env: Env,
  input: { firm: Firm; contact: Contact; staff: { id: string; email: string }; purpose: "staff" | "invite"; ip: string; userAgent: string },
): Promise<void> {
  const link = await createAccessLink(db, env, { firm: input.firm, contact: input.contact, purpose: input.purpose });
  await runBatch(db, [
    ...link.statements,
    auditEvent(db, {
      firmId: input.firm.id,
      type: "access_link.sent",
      actor: { type: "staff", id: input.staff.id, label: input.staff.email },
      contactId: input.contact.id,
      detail: { purpose: input.purpose },
      ip: input.ip,
      userAgent: input.userAgent,
    }),
  ]);
  await publishLink(env.LINKS, link.token, link.record);
}
