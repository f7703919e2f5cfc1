// The firm-wide portal security setting as rules (PRODUCT.md "The firm-wide portal security setting",
// docs/decisions/006). Every question about the modes is answered here, from the two tables below:
// which factors a mode accepts, whether a second factor applies, which modes a plan may pick, which
// sessions a switch ends, what a client may see, and what a client or admin is told when the mode says no.
// Pure functions. The one piece that touches the database is the SQL predicate for the sessions a switch
// ends, built from the same tables as the access decision (test/unit/portal-policy.test.ts checks that
// the two agree, row by row, against real D1 rows).
import { and, eq, inArray, isNull, or, type SQL } from "drizzle-orm";
import { sessions, type Plan, type SecurityMode, type SessionKind } from "../../../db/schema";
import { MODE_LABELS, PLANS, SECURITY_MODES } from "../../lib/domain";
import { refuse, type Refusal } from "../result";

// ---------------------------------------------------------------------------------------------
// Factors

/** The ways a client proves who they are (PRODUCT.md "Magic links", "Two-factor authentication", "Passkeys"). */
export type FactorKind = "link" | "password" | "totp" | "passkey";

type FactorRule = {
  /** Opens a session by itself (first), or only completes a sign-in that another factor opened (second). */
  step: "first" | "second";
  /** A session opened with it can go on to pass a second factor. A link session cannot: where a second factor applies it only identifies the client, who then signs in. */
  secondMayFollow: boolean;
  /** Whether it also satisfies the second factor by itself. */
  countsAsSecond: "no" | "yes" | "with_user_verification";
  /** What a session opened with it may see where no second factor applies. */
  reach: "requests" | "account";
};

export const FACTORS: Record<FactorKind, FactorRule> = {
  // Possession of the mailbox: a link session is scoped to the contact's requests (PRODUCT.md "Magic links").
  link: { step: "first", secondMayFollow: false, countsAsSecond: "no", reach: "requests" },
  password: { step: "first", secondMayFollow: true, countsAsSecond: "no", reach: "account" },
  totp: { step: "second", secondMayFollow: false, countsAsSecond: "yes", reach: "account" },
  // "In the 2FA mode a passkey with user verification satisfies the requirement on its own" (SECURITY.md
  // rule 35): a passkey sign-in with the UV flag marks its session as past 2FA; without it, the session is
  // at the 2FA step like a password's. It is also the second step after a password (with UV only).
  passkey: { step: "first", secondMayFollow: true, countsAsSecond: "with_user_verification", reach: "account" },
};

/** The factor each kind of client session was opened with. */
export const SESSION_FACTOR = { client_link: "link", client_password: "password", client_passkey: "passkey" } as const satisfies Partial<Record<SessionKind, FactorKind>>;
export type ClientSessionKind = keyof typeof SESSION_FACTOR;
export const CLIENT_SESSION_KINDS = Object.keys(SESSION_FACTOR) as ClientSessionKind[];

/** Whether a factor, used as the step after the first, passes the second factor. */
export function countsAsSecondFactor(factor: FactorKind, options: { userVerified?: boolean } = {}): boolean {
  const rule = FACTORS[factor].countsAsSecond;
  return rule === "yes" || (rule === "with_user_verification" && options.userVerified === true);
}

// ---------------------------------------------------------------------------------------------
// Modes

type ModeRule = {
  /** Factors the mode accepts. A session opened with any other is refused at read time and ended by the switch. */
  factors: readonly FactorKind[];
  /** Who must pass a second factor: nobody, the clients who turned it on, or every client. */
  secondFactor: "never" | "if_enrolled" | "always";
  /** Plans on which an admin may choose the mode. A firm already in it keeps it after a downgrade (fail secure). */
  plans: readonly Plan[];
  /** The settings page's explanation of the mode. */
  help: string;
  /** What the settings page says a switch to the mode does (it must match `sessionsEndedBySwitch`). */
  switchEffect: string;
};

export const MODES: Record<SecurityMode, ModeRule> = {
  magic_link_and_login: {
    factors: ["link", "password", "totp", "passkey"],
    secondFactor: "if_enrolled",
    plans: PLANS,
    help: "Clients open requests with the emailed link, or sign in with a password. Each client may turn on 2FA for themselves.",
    switchEffect: "Clients keep their current sessions.",
  },
  magic_link_only: {
    factors: ["link"],
    // 2FA is "n/a" here (PRODUCT.md): there is nothing to sign in to, so an account's authenticator is not asked for.
    secondFactor: "never",
    plans: PLANS,
    help: "Clients get in only through emailed links. Portal passwords are switched off; existing logins are kept for later.",
    switchEffect: "Every client signed in with a password is signed out now; their logins are kept in case you switch back.",
  },
  magic_link_and_login_2fa: {
    factors: ["link", "password", "totp", "passkey"],
    secondFactor: "always",
    plans: ["business", "enterprise"],
    help: "Every client signs in with a password and an authenticator app code, or with a passkey. Emailed links identify the client, then ask for both.",
    switchEffect:
      "Every client session that has not passed two-factor authentication ends now. Clients without an authenticator app or a passkey set one up at their next sign-in.",
  },
};

/** What the settings page says about each mode. */
export function modeDescriptions(): Record<SecurityMode, { help: string; switchEffect: string }> {
  return Object.fromEntries(SECURITY_MODES.map((mode) => [mode, { help: MODES[mode].help, switchEffect: MODES[mode].switchEffect }])) as Record<
    SecurityMode,
    { help: string; switchEffect: string }
  >;
}

/** The mode that requires a second factor of every client (the one plans gate, and heads-ups announce). */
export const TWO_FACTOR_MODE: SecurityMode = "magic_link_and_login_2fa";

type ModeOf = SecurityMode | { securityMode: SecurityMode };
const modeOf = (firm: ModeOf): SecurityMode => (typeof firm === "string" ? firm : firm.securityMode);

export function factorAccepted(firm: ModeOf, factor: FactorKind): boolean {
  return MODES[modeOf(firm)].factors.includes(factor);
}

/** Password sign-in, sign-up, forgot-password and reset: all on or all off together. */
export function passwordsAllowed(firm: ModeOf): boolean {
  return factorAccepted(firm, "password");
}

/** The firm requires a second factor of every client (clients cannot turn it off). */
export function secondFactorRequired(firm: ModeOf): boolean {
  return MODES[modeOf(firm)].secondFactor === "always";
}

/** Does a second factor apply to this client? The firm requires it, or the client turned it on where the mode lets them. */
export function secondFactorApplies(firm: ModeOf, account: { totpEnabledAt: number | null } | null): boolean {
  const rule = MODES[modeOf(firm)].secondFactor;
  if (rule === "always") return true;
  if (rule === "never") return false;
  return Boolean(account?.totpEnabledAt);
}

/**
 * Whether a client has a second factor to give: an authenticator app, or a passkey (every stored passkey
 * was registered with user verification). A client with either is not sent to set up an app.
 */
export function secondFactorEnrolled(account: { totpEnabledAt: number | null }, passkeys: number): boolean {
  return account.totpEnabledAt !== null || passkeys > 0;
}

/** Whether an emailed link opens requests for a client without 2FA (false where links only identify). */
export function linksOpenRequests(firm: ModeOf): boolean {
  return factorAccepted(firm, "link") && !secondFactorRequired(firm);
}

// ---------------------------------------------------------------------------------------------
// Plans

const PLAN_NAMES: Record<Plan, string> = { team: "Team", business: "Business", enterprise: "Enterprise" };

export function planAllowsMode(plan: Plan, mode: SecurityMode): boolean {
  return MODES[mode].plans.includes(plan);
}

/**
 * Modes an admin may pick: those the plan offers, plus the firm's current mode. A firm that uses 2FA keeps
 * it after a downgrade (fail secure), but cannot pick it again once it switches away.
 */
export function selectableModes(firm: { plan: Plan; securityMode: SecurityMode }): SecurityMode[] {
  return SECURITY_MODES.filter((mode) => planAllowsMode(firm.plan, mode) || mode === firm.securityMode);
}

/** The firm is in a mode its plan no longer offers (kept after a downgrade; its admins see a notice). */
export function modeKeptAfterDowngrade(firm: { plan: Plan; securityMode: SecurityMode }): boolean {
  return !planAllowsMode(firm.plan, firm.securityMode);
}

/** Why an admin may not switch this firm to `mode`, or null if they may. */
export function modeSwitchRefusal(firm: { plan: Plan; securityMode: SecurityMode }, mode: SecurityMode): Refusal | null {
  if (selectableModes(firm).includes(mode)) return null;
  const plans = MODES[mode].plans.map((plan) => PLAN_NAMES[plan]);
  const list = plans.length > 1 ? `${plans.slice(0, -1).join(", ")} and ${plans.at(-1)}` : plans.join("");
  return refuse(403, `${MODE_LABELS[mode]} is available on ${list} plans.`);
}

// ---------------------------------------------------------------------------------------------
// What clients are told when the mode says no

export type PasswordAction = "sign_in" | "sign_up" | "reset";

/** The refusal for a password action where the firm has turned passwords off, or null where they are on. */
export function passwordRefusal(firm: { name: string; securityMode: SecurityMode }, action: PasswordAction): string | null {
  if (passwordsAllowed(firm)) return null;
  switch (action) {
    case "sign_in":
      return `${firm.name} uses email links only. Ask for a link below instead.`;
    case "sign_up":
      return "This firm's portal uses email links only, so logins cannot be created.";
    case "reset":
      return `${firm.name} uses email links only; there are no passwords to reset.`;
  }
}

/** The refusal for a passkey sign-in where the firm's mode takes no passkeys (links only), or null. */
export function passkeyRefusal(firm: { name: string; securityMode: SecurityMode }): string | null {
  return factorAccepted(firm, "passkey") ? null : `${firm.name} uses email links only. Ask for a link below instead.`;
}

/** The refusal for turning 2FA off where the firm requires it, or null where the client may. */
export function turnOffSecondFactorRefusal(firm: { name: string; securityMode: SecurityMode }): string | null {
  return secondFactorRequired(firm) ? `${firm.name} requires two-factor authentication, so it cannot be turned off.` : null;
}

// ---------------------------------------------------------------------------------------------
// Access

export type PortalAccess =
  /** No usable session for this firm's portal. */
  | { status: "signed_out" }
  /** A link identified the client, but 2FA applies: sign in with password (and code). */
  | { status: "needs_sign_in"; email: string }
  /** A link identified the client, 2FA is required and they have no login yet. */
  | { status: "needs_account" }
  /** Password accepted; the account has no authenticator app nor passkey yet and the firm requires a second factor. */
  | { status: "needs_enrolment" }
  /** First factor accepted; the code (or a passkey with user verification) is still to come. */
  | { status: "needs_code" }
  /** A link session asked for the account page where the firm offers no logins: its requests are all it opens. */
  | { status: "requests_only" }
  | { status: "granted"; contactId: string };

/**
 * What a page is about. A link session is scoped to the contact's requests (PRODUCT.md): the account page
 * (sign-in history with IPs and browsers, "Sign out of all devices", 2FA) needs a password sign-in.
 */
export type PortalScope = "requests" | "account";

export type AccessFacts = {
  firm: { securityMode: SecurityMode };
  session: { kind: SessionKind; portalAccountId: string | null; twoFactorVerifiedAt: number | null };
  contact: { id: string; deletedAt: number | null };
  account: { id: string; email: string; passwordHash: string | null; totpEnabledAt: number | null; deactivatedAt: number | null } | null;
  /** How many passkeys the account has. */
  passkeys: number;
};

/**
 * A session counts as past 2FA only if it passed it after the account's (latest) app enrolment. A passkey
 * needs no such check: it can be added only by a session that already passed, or set up the first factor.
 */
function passedSecondFactor(session: AccessFacts["session"], account: { totpEnabledAt: number | null }): boolean {
  return session.twoFactorVerifiedAt !== null && (account.totpEnabledAt === null || session.twoFactorVerifiedAt >= account.totpEnabledAt);
}

/** The access decision: from the firm's current mode, the session's factor, the account's 2FA state and the contact's standing. */
export function decideAccess(facts: AccessFacts, scope: PortalScope = "requests"): PortalAccess {
  const { firm, session, contact, account, passkeys } = facts;
  if (contact.deletedAt) return { status: "signed_out" };
  const factor = session.kind in SESSION_FACTOR ? SESSION_FACTOR[session.kind as ClientSessionKind] : null;
  // Refused at read time too, so a session created during a switch cannot slip through.
  if (!factor || !factorAccepted(firm, factor)) return { status: "signed_out" };
  const needsSecondFactor = secondFactorApplies(firm, account);
  const rule = FACTORS[factor];

  if (!rule.secondMayFollow) {
    // A link: enough for what it reaches where no second factor applies; elsewhere it only identifies the client.
    if (!needsSecondFactor && (rule.reach === "account" || scope === "requests")) return { status: "granted", contactId: contact.id };
    if (!needsSecondFactor && !passwordsAllowed(firm)) return { status: "requests_only" };
    const hasLogin = account !== null && !account.deactivatedAt && account.passwordHash !== null;
    return hasLogin ? { status: "needs_sign_in", email: account.email } : { status: "needs_account" };
  }

  if (!account || account.deactivatedAt || account.id !== session.portalAccountId) return { status: "signed_out" };
  if (!needsSecondFactor) return { status: "granted", contactId: contact.id };
  if (!secondFactorEnrolled(account, passkeys)) return { status: "needs_enrolment" };
  if (!passedSecondFactor(session, account)) return { status: "needs_code" };
  return { status: "granted", contactId: contact.id };
}

// ---------------------------------------------------------------------------------------------
// Switching modes

/**
 * The client sessions of a firm that a switch to `mode` ends (null: none), from the same rules as
 * `decideAccess`: sessions opened with a factor the mode refuses, and, where every client needs a second
 * factor, sessions that have not passed one (a link session never does: it only identifies).
 * A session the new mode would no longer grant is one this ends, except where the new mode asks the same
 * session for a second factor again (a redirect to a step, not an end; listed in the unit test).
 */
export function sessionsEndedBySwitch(firmId: string, mode: SecurityMode): SQL | null {
  const refused = CLIENT_SESSION_KINDS.filter((kind) => !factorAccepted(mode, SESSION_FACTOR[kind]));
  const kept = CLIENT_SESSION_KINDS.filter((kind) => !refused.includes(kind));
  const conditions: SQL[] = [];
  if (refused.length) conditions.push(inArray(sessions.kind, refused));
  if (secondFactorRequired(mode)) {
    const identifyOnly = kept.filter((kind) => !FACTORS[SESSION_FACTOR[kind]].secondMayFollow);
    const mayPass = kept.filter((kind) => FACTORS[SESSION_FACTOR[kind]].secondMayFollow);
    if (identifyOnly.length) conditions.push(inArray(sessions.kind, identifyOnly));
    if (mayPass.length) conditions.push(and(inArray(sessions.kind, mayPass), isNull(sessions.twoFactorVerifiedAt))!);
  }
  if (conditions.length === 0) return null;
  return and(eq(sessions.firmId, firmId), conditions.length === 1 ? conditions[0] : or(...conditions))!;
}
