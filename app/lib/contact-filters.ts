export const CONTACT_FILTERS = ["all", "has_account", "no_account", "two_factor_on", "two_factor_off"] as const;
export type ContactFilter = (typeof CONTACT_FILTERS)[number];

export const FILTER_LABELS: Record<ContactFilter, string> = {
  all: "All contacts",
  has_account: "Has a portal account",
  no_account: "No portal account",
  two_factor_on: "2FA on",
  two_factor_off: "2FA off",
};
