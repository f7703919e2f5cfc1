// The browser a request comes from, as a long-lived random cookie. It binds claimed magic links to
// their browser and tells a client's usual browser from a new one (PRODUCT.md: "new device sign-in").
import { and, eq, sql } from "drizzle-orm";
import { auditEvents, portalAccounts } from "../../../db/schema";
import { auditEvent } from "../audit.server";
import { DEVICE_COOKIE, readCookie, setCookie } from "../cookies.server";
import { generateToken, sha256Hex } from "../crypto.server";
import type { Database, Statement } from "../db.server";
import { securityNoticeEmail } from "../emails.server";
import { queueEmail } from "../outbox.server";
import type { PortalAuth } from "../portal/portal-auth.server";
import type { RequestMeta } from "../request-meta.server";

const DEVICE_MAX_AGE_SECONDS = 400 * 24 * 60 * 60;

export type Device = { id: string; cookie: string | null };

/** The request's device id; a new one (with its Set-Cookie) on first sight. */
export function deviceOf(request: Request): Device {
  const existing = readCookie(request, DEVICE_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { id: existing, cookie: null };
  const id = generateToken();
  return { id, cookie: setCookie(DEVICE_COOKIE, id, DEVICE_MAX_AGE_SECONDS) };
}

export function deviceHash(deviceId: string): Promise<string> {
  return sha256Hex(`device:${deviceId}`);
}

export type SignInMeta = RequestMeta & { deviceId?: string };

/**
 * What a completed client sign-in writes: last sign-in, the audit event (with the device's hash), and
 * an email when the account has signed in before but never from this browser.
 */
export async function clientSignedIn(db: Database, auth: PortalAuth, meta: SignInMeta, detail: Record<string, unknown>, now = Date.now()): Promise<Statement[]> {
  const account = auth.account!;
  const device = meta.deviceId ? await deviceHash(meta.deviceId) : null;
  const statements: Statement[] = [
    db.update(portalAccounts).set({ lastSignInAt: now }).where(eq(portalAccounts.id, account.id)),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "client.signed_in",
      actor: { type: "client", id: auth.contact.id, label: account.email },
      contactId: auth.contact.id,
      detail: { ...detail, device },
      ip: meta.ip,
      userAgent: meta.userAgent,
      at: now,
    }),
  ];
  if (device && account.lastSignInAt) {
    const [seen] = await db
      .select({ n: sql<number>`count(*)` })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.contactId, auth.contact.id),
          eq(auditEvents.type, "client.signed_in"),
          sql`json_extract(${auditEvents.detail}, '$.device') = ${device}`,
        ),
      );
    if ((seen?.n ?? 0) === 0) {
      statements.push(
        queueEmail(
          db,
          securityNoticeEmail({
            firm: auth.firm,
            to: account.email,
            name: auth.contact.name,
            subject: "new sign-in to your account",
            body: [
              `Your portal account was just signed in to from a browser we have not seen before.`,
              `Time: ${new Date(now).toISOString().slice(0, 16).replace("T", " ")} UTC`,
              `IP address: ${meta.ip}`,
              `Browser: ${meta.userAgent.slice(0, 120) || "unknown"}`,
              ...(typeof detail.passkey === "string" ? [`Signed in with the passkey "${detail.passkey}".`] : []),
            ],
          }),
          now,
        ),
      );
    }
  }
  return statements;
}
