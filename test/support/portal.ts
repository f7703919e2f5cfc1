// Portal helpers: links issued the way the app issues them, and the outbox read like an inbox.
import { env } from "cloudflare:workers";
import { and, desc, eq, gt } from "drizzle-orm";
import { outbox, type AccessLinkPurpose, type contacts } from "../../db/schema";
import { createAccessLink, publishLink } from "../../app/server/access-links.server";
import { runBatch } from "../../app/server/db.server";
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

/** Emails to an address since a moment, newest first; waits briefly for work done after the response. */
export async function emailsTo(address: string, since: number, { wait = true } = {}) {
  for (let i = 0; i < 40; i++) {
    const rows = await db
      .select()
      .from(outbox)
      .where(and(eq(outbox.toAddress, address), gt(outbox.createdAt, since - 1)))
      .orderBy(desc(outbox.createdAt));
    if (rows.length > 0 || !wait) return rows;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
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

export async function settle(ms = 150): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
