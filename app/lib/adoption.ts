// The ways a client signs in, as portal adoption counts them (PRODUCT.md "Contacts and onboarding"):
// shared by the figures' SQL (adoption.server.ts) and the chart (components/adoption.tsx), so a new
// method is added here once.
export const SIGN_IN_METHODS = ["link", "password", "password_2fa", "passkey", "other"] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

export const METHOD_LABELS: Record<SignInMethod, string> = {
  link: "Link",
  password: "Password",
  password_2fa: "Password + 2FA",
  passkey: "Passkey",
  other: "Other",
};
