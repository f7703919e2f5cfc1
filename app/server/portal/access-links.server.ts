// Magic links ("access links"). The emailed token is 32 random bytes; only its SHA-256 is stored.
// D1 holds the authoritative record and the claim, so a link is claimed exactly once even under
// concurrency. The landing page reads D1 too: what a link does depends on the claim, the browser and the
// contact's revocations, which only D1 knows (docs/decisions/009). KV keeps a copy of each new link
// (ADR 001), which nothing decides by.
import { and, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { accessLinks, auditEvents, contacts, firms, outbox, portalAccounts, sessions, type AccessLinkPurpose } from "../../../db/schema";
import { generateId, generateToken, sha256Hex } from "../crypto.server";
import { auditActorOf } from "../acting.server";
import { auditEvent, auditRow } from "../audit.server";
import { insertWhere, runBatch, type Database, type Statement } from "../db.server";
import { deviceHash } from "../auth/devices.server";
import { accessLinkEmail } from "../emails.server";
import { outboxRow, queueEmail, sealEmail } from "../outbox.server";
import type { PortalAccount } from "../types";
import type { PortalAuth } from "./portal-auth.server";
import { issueSession, LINK_SESSION_MS } from "../auth/sessions.server";
import type { RequestMeta } from "../request-meta.server";
import { accountPasskeyCount } from "../auth/passkey-owners.server";
import { runAlone, statement } from "../statements.server";
import { consume, LIMITS, windowRemainingMs } from "../rate-limit.server";
import { refuse, type Refusal } from "../result";

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
    // The link works only for this address and until the contact's next revoking action. A contact read
    // before a revocation carries the older epoch, so a stale read can only make a link die sooner.
    sentTo: input.contact.email,
    credentialEpoch: input.contact.credentialEpoch,
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

/**
 * Copies a committed link to KV, with a TTL (KV needs at least 60 s). Never read to decide anything (ADR
 * 009), so a failed copy (KV's daily write limit on the free plan, an outage) is logged and the send
 * stands: the link and its email are already committed in D1, and answering 500 would tell staff or a
 * client that a link that is on its way was not sent.
 */
export async function publishLink(kv: KVNamespace, token: string, record: LinkRecord, now = Date.now()): Promise<void> {
  const ttl = Math.max(60, Math.ceil((record.expiresAt - now) / 1000));
  try {
    await kv.put(kvKey(await sha256Hex(token)), JSON.stringify(record), { expirationTtl: ttl });
  } catch (error) {
    console.error(`KV copy of link ${record.id} not written: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type LinkRow = { link: AccessLink; firm: Firm; contact: Contact; account: PortalAccount | null; passkeys: number };

/**
 * The authoritative row of a link with its firm, contact and account, by the hash of its token. Built once per isolate
 * (statements.server.ts): it is the first page every invited client opens. It runs on its own, outside
 * a batch, because the joined tables share column names.
 */
const linkByTokenHash = statement(
  ["tokenHash"],
  (db, p) =>
    db
      .select({ link: accessLinks, firm: firms, contact: contacts, account: portalAccounts, passkeys: accountPasskeyCount(portalAccounts.id) })
      .from(accessLinks)
      .innerJoin(firms, eq(firms.id, accessLinks.firmId))
      .innerJoin(contacts, and(eq(contacts.id, accessLinks.contactId), eq(contacts.firmId, accessLinks.firmId)))
      .leftJoin(portalAccounts, eq(portalAccounts.contactId, accessLinks.contactId))
      .where(eq(accessLinks.tokenHash, p.tokenHash))
      .limit(1),
  { alone: true },
);

async function loadLink(db: Database, token: string): Promise<LinkRow | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await runAlone(db, linkByTokenHash({ tokenHash: await sha256Hex(token) }));
  return row ?? null;
}

/**
 * What a link does in one browser now:
 * - `claimable`: never claimed and still valid; Continue claims it for this browser.
 * - `open_here`: claimed by this browser, within 30 days of the claim; Continue opens a link session.
 * - `claimed_elsewhere`: claimed by another browser and still live there; this one is declined.
 * - `expired`: past its validity, revoked, sent before the contact's last revocation, sent to an address
 *   that is no longer the contact's, or the contact was deleted.
 * The landing page's GET and POST both ask this function, so the page never promises what the POST refuses.
 */
export type LinkState = "unknown" | "claimable" | "open_here" | "claimed_elsewhere" | "expired";

export function accessLinkState(row: Pick<LinkRow, "link" | "contact"> | null, browserDeviceHash: string, now: number): LinkState {
  if (!row) return "unknown";
  const { link, contact } = row;
  const voided =
    link.revokedAt !== null ||
    contact.deletedAt !== null ||
    link.credentialEpoch !== contact.credentialEpoch ||
    link.sentTo === null ||
    link.sentTo !== contact.email;
  if (voided) return "expired";
  if (link.claimedAt === null) return link.expiresAt > now ? "claimable" : "expired";
  if (link.sessionExpiresAt === null || link.sessionExpiresAt <= now) return "expired";
  return link.claimedDeviceHash === browserDeviceHash ? "open_here" : "claimed_elsewhere";
}

export type LinkPage = { state: LinkState; firmName: string | null; firmId: string | null; contactId: string | null };

/** The landing page (GET/HEAD): reads D1, the only place that knows the claim, the device and revocations. */
export async function accessLinkPage(db: Database, token: string, deviceId: string, now = Date.now()): Promise<LinkPage> {
  const row = await loadLink(db, token);
  return {
    state: accessLinkState(row, await deviceHash(deviceId), now),
    firmName: row?.firm.name ?? null,
    firmId: row?.firm.id ?? null,
    contactId: row?.contact.id ?? null,
  };
}

export type ClaimResult =
  | { status: "claimed"; token: string; link: AccessLink; firm: Firm; auth: PortalAuth }
  | { status: "claimed_elsewhere" | "expired" | "unknown"; link: AccessLink | null; firm: Firm | null };

/**
 * Claims a link for one browser (or reopens it on the browser that claimed it) and opens a link session.
 * The conditional UPDATE is the claim: of any number of concurrent POSTs, exactly one changes the row.
 */
export async function claimAccessLink(
  db: Database,
  input: { token: string; deviceId: string } & RequestMeta,
  now = Date.now(),
): Promise<ClaimResult> {
  const browserDeviceHash = await deviceHash(input.deviceId);
  let row = await loadLink(db, input.token);
  let state = accessLinkState(row, browserDeviceHash, now);
  let firstClaim = false;
  if (row && state === "claimable") {
    const claimed = await db
      .update(accessLinks)
      .set({ claimedAt: now, claimedDeviceHash: browserDeviceHash, sessionExpiresAt: now + LINK_SESSION_MS })
      .where(and(eq(accessLinks.id, row.link.id), isNull(accessLinks.claimedAt), isNull(accessLinks.revokedAt), gt(accessLinks.expiresAt, now)))
      .returning();
    if (claimed.length === 1) {
      row = { ...row, link: claimed[0] };
      firstClaim = true;
    } else {
      row = await loadLink(db, input.token);
    }
    state = accessLinkState(row, browserDeviceHash, now);
  }
  if (!row || state !== "open_here") {
    return { status: state === "unknown" ? "unknown" : state === "claimed_elsewhere" ? "claimed_elsewhere" : "expired", link: row?.link ?? null, firm: row?.firm ?? null };
  }
  const { link, firm, contact, account } = row;
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
  // The session is written only if the link is still open for this browser when the batch runs: a
  // revocation that commits between the read above and this batch leaves no session behind.
  const stillOpen = sql`EXISTS (SELECT 1 FROM "access_links" AS l JOIN "contacts" AS c ON c.id = l.contact_id
    WHERE l.id = ${link.id} AND l.revoked_at IS NULL AND l.claimed_device_hash = ${browserDeviceHash}
    AND l.session_expires_at > ${now} AND c.deleted_at IS NULL AND c.credential_epoch = l.credential_epoch AND c.email = l.sent_to)`;
  await runBatch(db, [
    insertWhere(db, sessions, issued.session, stillOpen),
    insertWhere(
      db,
      auditEvents,
      auditRow({
        firmId: firm.id,
        type: firstClaim ? "access_link.claimed" : "access_link.reopened",
        actor: { type: "client", id: contact.id, label: contact.email },
        contactId: contact.id,
        detail: { purpose: link.purpose },
        ip: input.ip,
        userAgent: input.userAgent,
        at: now,
      }),
      stillOpen,
    ),
  ]);
  const [written] = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, issued.session.id)).limit(1);
  if (!written) return { status: "expired", link, firm };
  return { status: "claimed", token: issued.token, link, firm, auth: { session: issued.session, firm, contact, account, passkeys: row.passkeys } };
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

/**
 * Staff "Send portal link" / "Send portal invite", from the contact's page or the API: a 14-day link
 * emailed to the contact. SECURITY.md: email-sending endpoints, 3 per 10 minutes per address. The counter
 * is the one bulk invites and self-service links use, so no path mails a client more often: a looping
 * integration or a repeated click cannot flood a client's inbox. A refusal sends and records nothing.
 */
export async function sendStaffLink(
  db: Database,
  env: Env,
  input: { firm: Firm; contact: Contact; purpose: "staff" | "invite" } & RequestMeta & (
    | { staff: { id: string; email: string } }
    | { apiKey: { id: string; name: string } }
  ),
  now = Date.now(),
): Promise<{ ok: true; expiresAt: number } | (Refusal & { retryAfterSeconds: number })> {
  if (!(await consume(db, LIMITS.emailPerAddress, input.contact.email, now))) {
    const retryAfterSeconds = Math.max(1, Math.ceil(windowRemainingMs(LIMITS.emailPerAddress, now) / 1000));
    const wait = retryAfterSeconds < 90 ? `${retryAfterSeconds} seconds` : `${Math.ceil(retryAfterSeconds / 60)} minutes`;
    return {
      ...refuse(429, `${input.contact.email} was emailed ${LIMITS.emailPerAddress.limit} times in the last 10 minutes. Try again in ${wait}.`),
      retryAfterSeconds,
    };
  }
  const link = await createAccessLink(db, env, { firm: input.firm, contact: input.contact, purpose: input.purpose });
  await runBatch(db, [
    ...link.statements,
    auditEvent(db, {
      firmId: input.firm.id,
      type: "access_link.sent",
      actor: auditActorOf(input),
      contactId: input.contact.id,
      detail: { purpose: input.purpose },
      ip: input.ip,
      userAgent: input.userAgent,
    }),
  ]);
  await publishLink(env.LINKS, link.token, link.record);
  return { ok: true, expiresAt: link.record.expiresAt };
}
