// Request factories and the client's side of a request: a browser with a link session.
import { contacts, requestItems, requests } from "../../db/schema";
import { clientBrowser as signedInClient, createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD, uid, type TestFirm } from "./factories";
import { claim, issueLink } from "./portal";
import { Browser, signInStaff } from "./http";

type ContactRow = typeof contacts.$inferSelect;

export const DAY = 24 * 60 * 60_000;

export async function createRequest(
  firm: TestFirm,
  contact: { id: string },
  options: {
    items?: Array<["task" | "question" | "file", string]>;
    schedule?: "none" | "gentle" | "urgent";
    dueDate?: string | null;
    sentAt?: number;
    status?: "open" | "completed";
    createdByStaffId?: string | null;
    lastReminderOn?: string | null;
  } = {},
) {
  const id = uid("req_");
  const [request] = await db
    .insert(requests)
    .values({
      id,
      firmId: firm.id,
      contactId: contact.id,
      title: `Request ${id}`,
      description: "Please send these.",
      dueDate: options.dueDate === undefined ? null : options.dueDate,
      status: options.status ?? "open",
      reminderSchedule: options.schedule ?? "none",
      sentAt: options.sentAt ?? Date.now() - 3 * DAY,
      lastReminderOn: options.lastReminderOn ?? null,
      createdByStaffId: options.createdByStaffId ?? null,
    })
    .returning();
  const list = options.items ?? [
    ["task", "Confirm your address"],
    ["question", "Did you move house?"],
    ["file", "Upload your P60"],
  ];
  const items = await db
    .insert(requestItems)
    .values(list.map(([kind, label], position) => ({ id: uid("item_"), requestId: id, firmId: firm.id, kind, label, position })))
    .returning();
  return { request, items };
}

/** A browser that has claimed a staff link for this contact (a link session). */
export async function clientBrowser(firm: TestFirm, contact: ContactRow): Promise<Browser> {
  const { browser, response } = await claim(await issueLink(firm, contact));
  if (response.status !== 302) throw new Error(`claim failed: ${response.status}`);
  return browser;
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A business-plan firm with one contact who has a portal login and an open request, and a browser for
 * each kind of visitor: its signed-in admin, the signed-in client, and a signed-out visitor from `ip`
 * (tests that post anonymously give each their own address, so rate limits never meet).
 */
export async function firmWithEveryone(ip: string) {
  const firm = await createFirm({ plan: "business" });
  const contact = await createContact(firm);
  const account = await createPortalAccount(firm, contact);
  const { request } = await createRequest(firm, contact);
  const admin = await createStaff(firm, { role: "admin" });
  const staff = await signInStaff(admin.email, PASSWORD);
  const client = await signedInClient(account);
  return { firm, contact, account, request, staff, client, anonymous: new Browser(ip), portal: `/portal/${firm.slug}` };
}
