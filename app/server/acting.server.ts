// Who acts for a firm: a signed-in staff member, or one of the firm's API keys (PRODUCT.md "Public
// API"). Domain functions that an admin and an API key both call take `Acting`, so the audit log names
// the key ("api_key:<name>") instead of a staff member the key would have to pretend to be.
import type { AuditActor } from "./audit.server";
import type { Firm } from "./types";
import type { StaffAuth } from "./staff/staff-auth.server";

/** An API key acting for its firm. Its scope is checked by the API before any write reaches the domain. */
export type ApiKeyActing = { firm: Firm; apiKey: { id: string; name: string } };

export type Acting = StaffAuth | ApiKeyActing;

export function auditActorOf(acting: { staff: { id: string; email: string } } | { apiKey: { id: string; name: string } }): AuditActor {
  if ("apiKey" in acting) return { type: "api", id: acting.apiKey.id, label: `api_key:${acting.apiKey.name}` };
  return { type: "staff", id: acting.staff.id, label: acting.staff.email };
}
