// Row types, one definition each. A leaf module: it imports only the schema, so any module may import it
// without creating a cycle.
import type {
  accessLinks,
  contactImports,
  contacts,
  firms,
  inviteRuns,
  outbox,
  portalAccounts,
  requestFiles,
  requestItems,
  requests,
  sessions,
  staffUsers,
} from "../../db/schema";

export type Firm = typeof firms.$inferSelect;
export type Contact = typeof contacts.$inferSelect;
export type PortalAccount = typeof portalAccounts.$inferSelect;
export type StaffUser = typeof staffUsers.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type AccessLink = typeof accessLinks.$inferSelect;
export type Request = typeof requests.$inferSelect;
export type RequestItem = typeof requestItems.$inferSelect;
export type RequestFile = typeof requestFiles.$inferSelect;
export type InviteRun = typeof inviteRuns.$inferSelect;
export type ContactImport = typeof contactImports.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;

/**
 * An id as a value or as SQL that names it (e.g. the session's firm, `ofSession`), so a page's query can
 * travel in the same D1 batch as the session lookup (issue 14).
 */
export type Ref = string | import("drizzle-orm").SQL;
