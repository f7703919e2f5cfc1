// "Send portal invite" to many contacts at once: the selected rows of the list, or every contact
// without a portal account. Each invite is the same 14-day "invite" access link a single invite
// sends (createAccessLink), written with its email to the outbox.
//
// Why runs and chunks: each invite costs two D1 statements (the link and its email) and a KV write,
// and one Worker invocation may run about 1,000 D1 queries. So a bulk invite is a run that is sent
// in chunks of INVITE_CHUNK contacts per D1 batch, at most INVITES_PER_REQUEST per invocation; the
// progress page (and the cron, should the page be closed) continue it from the run's cursor.
// A chunk is claimed by moving the cursor in the same batch as its writes, and those writes only
// happen if the cursor still holds the value the chunk was read at, so two continuations running
// at once never send one invite twice.
import { and, asc, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { contacts, firms, inviteRuns, portalAccounts, type InviteScope } from "../../../db/schema";
import { createAccessLink, publishLink, type NewAccessLink } from "../portal/access-links.server";
import { auditEvent } from "../audit.server";
import { generateId } from "../crypto.server";
import { runBatch, type Database, type Statement } from "../db.server";
import { consumeMany, LIMITS } from "../rate-limit.server";
import type { StaffAuth } from "./staff-auth.server";
import type { RequestMeta } from "../request-meta.server";
import type { Firm, InviteRun } from "../types";
import { direct, type Read } from "../read-batch.server";
import type { Ref } from "../types";

export const INVITE_CHUNK = 40;
export const INVITES_PER_REQUEST = 200;
/** The list shows 50 contacts a page; a selection is one page, with room to spare. */
export const MAX_SELECTED = 200;

export type InviteSelection = { scope: "selected"; contactIds: string[] } | { scope: "without_account" };

/** Contacts an invite goes to: live contacts of the firm with no portal account (a login needs no invite). */
function targets(firmId: Ref, scope: InviteScope, contactIdsJson: string | null): SQL {
  return and(
    eq(contacts.firmId, firmId),
    isNull(contacts.deletedAt),
    sql`NOT EXISTS (SELECT 1 FROM ${portalAccounts} WHERE ${portalAccounts.contactId} = ${contacts.id})`,
    // The ids travel as one JSON parameter: a selection of any size stays within 100 bound parameters.
    scope === "selected" ? sql`${contacts.id} IN (SELECT value FROM json_each(${contactIdsJson ?? "[]"}))` : undefined,
  )!;
}

export type InviteReview = { toEmail: number; withAccount: number; notFound: number };

/** What the confirmation page says: how many will be emailed, and who is left out and why. */
export async function reviewInvites(db: Database, firmId: Ref, selection: InviteSelection, read: Read = direct): Promise<InviteReview> {
  if (selection.scope === "without_account") {
    const [row] = await read(
      db
        .select({ n: sql<number>`count(*)` })
        .from(contacts)
        .where(targets(firmId, "without_account", null)),
    );
    return { toEmail: row?.n ?? 0, withAccount: 0, notFound: 0 };
  }
  const ids = JSON.stringify(selection.contactIds);
  const [row] = await read(
    db
    .select({
      found: sql<number>`count(*)`,
      // Written out: drizzle leaves a single-table selection's columns unqualified, and a bare "id"
      // inside this subquery would mean portal_accounts.id.
      withAccount: sql<number>`coalesce(sum(EXISTS (SELECT 1 FROM "portal_accounts" WHERE "portal_accounts"."contact_id" = "contacts"."id")), 0)`,
    })
    .from(contacts)
    .where(and(eq(contacts.firmId, firmId), isNull(contacts.deletedAt), sql`${contacts.id} IN (SELECT value FROM json_each(${ids}))`)),
  );
  const found = row?.found ?? 0;
  const withAccount = row?.withAccount ?? 0;
  return { toEmail: found - withAccount, withAccount, notFound: selection.contactIds.length - found };
}

/**
 * Starts a run and its one audit event (with the count the confirmation showed) in one batch, then
 * sends the first chunks. Returns null when nobody is left to invite.
 */
export async function startInviteRun(
  db: Database,
  env: Env,
  auth: StaffAuth,
  selection: InviteSelection,
  meta: RequestMeta,
  now = Date.now(),
): Promise<InviteRun | null> {
  const review = await reviewInvites(db, auth.firm.id, selection);
  if (review.toEmail === 0) return null;
  const run: InviteRun = {
    id: generateId(),
    firmId: auth.firm.id,
    staffUserId: auth.staff.id,
    staffEmail: auth.staff.email,
    scope: selection.scope,
    contactIds: selection.scope === "selected" ? JSON.stringify(selection.contactIds) : null,
    cursor: "",
    total: review.toEmail,
    sent: 0,
    skipped: 0,
    createdAt: now,
    finishedAt: null,
  };
  await runBatch(db, [
    db.insert(inviteRuns).values(run),
    auditEvent(db, {
      firmId: auth.firm.id,
      type: "access_link.invites_sent",
      actor: { type: "staff", id: auth.staff.id, label: auth.staff.email },
      detail: { count: review.toEmail, scope: selection.scope, run: run.id },
      ...meta,
      at: now,
    }),
  ]);
  return continueInviteRun(db, env, auth.firm, run.id, INVITES_PER_REQUEST, now);
}

export async function getInviteRun(db: Database, firmId: Ref, runId: string, read: Read = direct): Promise<InviteRun | null> {
  const [run] = await read(db.select().from(inviteRuns).where(and(eq(inviteRuns.id, runId), eq(inviteRuns.firmId, firmId))).limit(1));
  return run ?? null;
}

/**
 * Sends up to `budget` more invites of a run, chunk by chunk. Addresses over the per-address email
 * limit (3 per 10 minutes) are skipped and counted, as a single "Send portal invite" would be refused.
 */
export async function continueInviteRun(
  db: Database,
  env: Env,
  firm: Firm,
  runId: string,
  budget = INVITES_PER_REQUEST,
  now = Date.now(),
): Promise<InviteRun | null> {
  let handled = 0;
  for (;;) {
    const run = await getInviteRun(db, firm.id, runId);
    if (!run || run.finishedAt !== null || handled >= budget) return run;
    const chunk = await db
      .select()
      .from(contacts)
      .where(and(targets(firm.id, run.scope, run.contactIds), gt(contacts.id, run.cursor)))
      .orderBy(asc(contacts.id))
      .limit(INVITE_CHUNK);
    const claimed = and(eq(inviteRuns.id, run.id), eq(inviteRuns.cursor, run.cursor));
    if (chunk.length === 0) {
      await db.update(inviteRuns).set({ finishedAt: now }).where(claimed);
      continue;
    }
    const allowed = await consumeMany(
      db,
      LIMITS.emailPerAddress,
      chunk.map((c) => c.email),
      now,
    );
    const claimHolds = sql`EXISTS (SELECT 1 FROM ${inviteRuns} WHERE ${inviteRuns.id} = ${run.id} AND ${inviteRuns.cursor} = ${run.cursor})`;
    const links: NewAccessLink[] = [];
    for (const contact of chunk) {
      if (!allowed.has(contact.email)) continue;
      links.push(await createAccessLink(db, env, { firm, contact, purpose: "invite", onlyIf: claimHolds }, now));
    }
    const statements: Statement[] = links.flatMap((l) => l.statements);
    const [moved] = (await db.batch([
      ...statements,
      db
        .update(inviteRuns)
        .set({
          cursor: chunk[chunk.length - 1].id,
          sent: sql`${inviteRuns.sent} + ${links.length}`,
          skipped: sql`${inviteRuns.skipped} + ${chunk.length - links.length}`,
          finishedAt: chunk.length < INVITE_CHUNK ? now : null,
        })
        .where(claimed)
        .returning({ id: inviteRuns.id }),
    ] as unknown as [Statement, ...Statement[]])).slice(-1) as unknown as [Array<{ id: string }>];
    // Only the continuation that moved the cursor wrote its links; only it copies them to KV.
    if (moved.length === 1) await Promise.all(links.map((l) => publishLink(env.LINKS, l.token, l.record, now)));
    handled += chunk.length;
  }
}

/** The cron's share: continues runs whose page was closed, a bounded number of invites per run. */
export async function continueInviteRuns(db: Database, env: Env, now = Date.now()): Promise<void> {
  const open = await db
    .select({ run: inviteRuns, firm: firms })
    .from(inviteRuns)
    .innerJoin(firms, eq(firms.id, inviteRuns.firmId))
    .where(isNull(inviteRuns.finishedAt))
    .orderBy(asc(inviteRuns.createdAt))
    .limit(1);
  for (const { run, firm } of open) await continueInviteRun(db, env, firm, run.id, INVITES_PER_REQUEST, now);
}
