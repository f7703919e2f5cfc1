export const CONTACT_FILTERS = ["all", "has_account", "no_account", "two_factor_on", "two_factor_off"] as const;
export type ContactFilter = (typeof CONTACT_FILTERS)[number];

export const FILTER_LABELS: Record<ContactFilter, string> = {
  all: "All contacts",
  has_account: "Has a portal account",
  no_account: "No portal account",
  two_factor_on: "2FA on",
  two_factor_off: "2FA off",
};

export const CONTACT_SORTS = ["name", "last_sign_in", "portal_status"] as const;
export type ContactSort = (typeof CONTACT_SORTS)[number];
export type SortDirection = "asc" | "desc";

export const SORT_LABELS: Record<ContactSort, string> = {
  name: "Name",
  last_sign_in: "Last sign-in",
  portal_status: "Portal status",
};

export const DEFAULT_DIRECTION: Record<ContactSort, SortDirection> = { name: "asc", last_sign_in: "desc", portal_status: "desc" };
