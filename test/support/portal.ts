// Portal helpers: links issued the way the app issues them, and the outbox read like an inbox.
import { env } from "cloudflare:workers";
import { and, desc, eq, gt } from "drizzle-orm";
import { contacts, outbox, type AccessLinkPurpose } from "../../db/schema";
import { createAccessLink, publishLink } from "../../app/server/portal/access-links.server";
import { runBatch } from "../../app/server/db.server";
import { renderOutboxMessage } from "../../app/server/outbox-render.server";
import { backgroundWorkSettled } from "../../app/worker/background-work";
import { db, type TestFirm } from "./factories";
import { Browser } from "./http";

type ContactRow = typeof contacts.$inferSelect;

export async function issueLink(firm: TestFirm, contact: ContactRow, purpose: AccessLinkPurpose = "staff"): Promise<string> {
  const link = await createAccessLink(db, env, { firm, contact, purpose });
  await runBatch(db, link.statements);
  await publishLink(env.LINKS, link.token, link.record);
  return link.token;
}

/** Opens a link in a browser: GET the landing page, then POST "Continue". */
export async function claim(token: string, browser = new Browser()): Promise<{ browser: Browser; response: Response }> {
  await browser.fetch(`/l/${token}`);
  const response = await browser.post(`/l/${token}`, { intent: "continue" });
  return { browser, response };
}

/**
 * Emails to an address since a moment, newest first, as the recipient reads them: the sealed link is
 * opened and rendered into the body the way delivery does it. Reads only after the work the worker
 * does after its responses (ctx.waitUntil) has finished, so an empty answer means nothing was sent.
 */
export async function emailsTo(address: string, since: number) {
  await settle();
  const rows = await db
    .select()
    .from(outbox)
    .where(and(eq(outbox.toAddress, address), gt(outbox.createdAt, since - 1)))
    .orderBy(desc(outbox.createdAt));
  return Promise.all(rows.map(async (row) => ({ ...row, textBody: (await renderOutboxMessage(env, row, "(link removed after delivery)")).text })));
}

export function linkTokenIn(text: string): string {
  const match = /\/l\/([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error(`no access link in: ${text}`);
  return match[1];
}

export function urlTokenIn(text: string): string {
  const match = /token=([A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error(`no token link in: ${text}`);
  return match[1];
}

/** Waits until the work the worker started after its responses (ctx.waitUntil) has finished. */
export async function settle(): Promise<void> {
  await backgroundWorkSettled();
}
