// The product's fixed vocabularies, shared by the schema, the server and the UI.
export const PLANS = ["team", "business", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

export const SECURITY_MODES = ["magic_link_and_login", "magic_link_only", "magic_link_and_login_2fa"] as const;
export type SecurityMode = (typeof SECURITY_MODES)[number];
/** A new firm's mode (what each mode means is app/server/portal/portal-policy.server.ts). */
export const DEFAULT_SECURITY_MODE: SecurityMode = "magic_link_and_login";

export const MODE_LABELS: Record<SecurityMode, string> = {
  magic_link_and_login: "Magic link + Login",
  magic_link_only: "Magic link only",
  magic_link_and_login_2fa: "Magic link + Login 2FA",
};

export const STAFF_ROLES = ["admin", "member"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
