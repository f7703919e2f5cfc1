// The portal policy, table by table (docs/decisions/006): what each mode allows, and the access decision
// for every mode x session kind x account state x scope, checked against the sessions a switch ends, with
// the switch predicate run on real D1 rows.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { contacts, portalAccounts, sessions, type Plan, type SecurityMode } from "../../db/schema";
import { SECURITY_MODES } from "~/lib/domain";
import { portalAccess, type PortalAuth } from "~/server/portal/portal-auth.server";
import {
  countsAsSecondFactor,
  factorAccepted,
  modeKeptAfterDowngrade,
  modeSwitchRefusal,
  passwordRefusal,
  passwordsAllowed,
  secondFactorApplies,
  secondFactorRequired,
  selectableModes,
  sessionsEndedBySwitch,
  type PortalAccess,
  type PortalScope,
} from "~/server/portal/portal-policy.server";
import { issueSession } from "~/server/auth/sessions.server";
import { createContact, createFirm, createPortalAccount, db, type TestFirm } from "../support/factories";

const DEFAULT = "magic_link_and_login";
const LINKS_ONLY = "magic_link_only";
const TWO_FACTOR = "magic_link_and_login_2fa";

describe("what each mode allows", () => {
  it.each([
    [DEFAULT, true, false],
    [LINKS_ONLY, false, false],
    [TWO_FACTOR, true, true],
  ] as const)("%s: passwords %s, 2FA required of everyone %s", (mode, passwords, required) => {
    expect(passwordsAllowed(mode)).toBe(passwords);
    expect(passwordsAllowed({ securityMode: mode })).toBe(passwords);
    expect(secondFactorRequired(mode)).toBe(required);
    const firm = { name: "Acme", securityMode: mode };
    for (const action of ["sign_in", "sign_up", "reset"] as const) {
      if (passwords) expect(passwordRefusal(firm, action)).toBeNull();
      else expect(passwordRefusal(firm, action)).toMatch(/email links only/);
    }
  });

  it.each([
    // mode, account's 2FA on?, second factor applies?
    [DEFAULT, false, false],
    [DEFAULT, true, true],
    [LINKS_ONLY, false, false],
    [LINKS_ONLY, true, false], // 2FA is n/a where there are no logins: the link opens requests
    [TWO_FACTOR, false, true],
    [TWO_FACTOR, true, true],
  ] as const)("%s, account 2FA %s: second factor applies %s", (mode, on, applies) => {
    expect(secondFactorApplies(mode, { totpEnabledAt: on ? 1 : null })).toBe(applies);
    if (!on) expect(secondFactorApplies(mode, null)).toBe(applies);
  });

  it("factor kinds: passkeys are ready for the table (UV counts as the second factor), off where only links are", () => {
    expect(countsAsSecondFactor("totp")).toBe(true);
    expect(countsAsSecondFactor("passkey", { userVerified: true })).toBe(true);
    expect(countsAsSecondFactor("passkey", { userVerified: false })).toBe(false);
    expect(countsAsSecondFactor("passkey")).toBe(false);
    expect(countsAsSecondFactor("password")).toBe(false);
    expect(countsAsSecondFactor("link")).toBe(false);
    expect(factorAccepted(LINKS_ONLY, "passkey")).toBe(false);
    expect(factorAccepted(TWO_FACTOR, "passkey")).toBe(true);
    expect(factorAccepted(DEFAULT, "passkey")).toBe(true);
    for (const mode of SECURITY_MODES) expect(factorAccepted(mode, "link")).toBe(true);
  });

  it.each([
    // plan, current mode, selectable, kept after downgrade
    ["team", DEFAULT, [DEFAULT, LINKS_ONLY], false],
    ["team", LINKS_ONLY, [DEFAULT, LINKS_ONLY], false],
    ["team", TWO_FACTOR, [DEFAULT, LINKS_ONLY, TWO_FACTOR], true], // fail secure: kept until they switch away
    ["business", DEFAULT, [DEFAULT, LINKS_ONLY, TWO_FACTOR], false],
    ["business", TWO_FACTOR, [DEFAULT, LINKS_ONLY, TWO_FACTOR], false],
    ["enterprise", LINKS_ONLY, [DEFAULT, LINKS_ONLY, TWO_FACTOR], false],
  ] as Array<[Plan, SecurityMode, SecurityMode[], boolean]>)("plan %s in %s may pick %j", (plan, securityMode, selectable, kept) => {
    const firm = { plan, securityMode };
    expect(selectableModes(firm)).toEqual(selectable);
    expect(modeKeptAfterDowngrade(firm)).toBe(kept);
    for (const mode of SECURITY_MODES) {
      const refusal = modeSwitchRefusal(firm, mode);
      if (selectable.includes(mode)) expect(refusal).toBeNull();
      else expect(refusal).toEqual({ ok: false, status: 403, error: "Magic link + Login 2FA is available on Business and Enterprise plans." });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The access table

type Kind = "client_link" | "client_password" | "client_passkey";
type AccountState =
  | "no account"
  | "account without 2FA"
  | "account with 2FA"
  | "account with 2FA, re-enrolled after the session passed"
  | "account with a passkey"
  | "account deactivated"
  | "contact deleted";

type Row = { name: string; kind: Kind; state: AccountState; passed: boolean; expected: Record<SecurityMode, [requests: Status, account: Status]> };
type Status = PortalAccess["status"];

const G = "granted",
  OUT = "signed_out",
  SIGN_IN = "needs_sign_in",
  ACCOUNT = "needs_account",
  ENROL = "needs_enrolment",
  CODE = "needs_code",
  REQ_ONLY = "requests_only";

// Expected access per mode, as [scope "requests", scope "account"]. Link sessions never pass 2FA.
const ROWS: Row[] = [
  { name: "link, no account", kind: "client_link", state: "no account", passed: false, expected: { [DEFAULT]: [G, ACCOUNT], [LINKS_ONLY]: [G, REQ_ONLY], [TWO_FACTOR]: [ACCOUNT, ACCOUNT] } },
  { name: "link, account without 2FA", kind: "client_link", state: "account without 2FA", passed: false, expected: { [DEFAULT]: [G, SIGN_IN], [LINKS_ONLY]: [G, REQ_ONLY], [TWO_FACTOR]: [SIGN_IN, SIGN_IN] } },
  { name: "link, account with 2FA", kind: "client_link", state: "account with 2FA", passed: false, expected: { [DEFAULT]: [SIGN_IN, SIGN_IN], [LINKS_ONLY]: [G, REQ_ONLY], [TWO_FACTOR]: [SIGN_IN, SIGN_IN] } },
  { name: "link, account deactivated", kind: "client_link", state: "account deactivated", passed: false, expected: { [DEFAULT]: [G, ACCOUNT], [LINKS_ONLY]: [G, REQ_ONLY], [TWO_FACTOR]: [ACCOUNT, ACCOUNT] } },
  { name: "link, contact deleted", kind: "client_link", state: "contact deleted", passed: false, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  { name: "password, no account", kind: "client_password", state: "no account", passed: false, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  { name: "password, account without 2FA", kind: "client_password", state: "account without 2FA", passed: false, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [ENROL, ENROL] } },
  // Passed 2FA, then the client turned it off (default mode).
  { name: "password, account without 2FA, session passed", kind: "client_password", state: "account without 2FA", passed: true, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [ENROL, ENROL] } },
  { name: "password, account with 2FA, code not passed", kind: "client_password", state: "account with 2FA", passed: false, expected: { [DEFAULT]: [CODE, CODE], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [CODE, CODE] } },
  { name: "password, account with 2FA, session passed", kind: "client_password", state: "account with 2FA", passed: true, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [G, G] } },
  { name: "password, 2FA re-enrolled after the session passed", kind: "client_password", state: "account with 2FA, re-enrolled after the session passed", passed: true, expected: { [DEFAULT]: [CODE, CODE], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [CODE, CODE] } },
  { name: "password, account deactivated", kind: "client_password", state: "account deactivated", passed: false, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  { name: "password, account deactivated, session passed", kind: "client_password", state: "account deactivated", passed: true, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  { name: "password, contact deleted", kind: "client_password", state: "contact deleted", passed: true, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  // A client with a passkey is not sent to set up an app: the passkey is their second factor (PRODUCT.md "Passkeys").
  { name: "password, account with a passkey, not passed", kind: "client_password", state: "account with a passkey", passed: false, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [CODE, CODE] } },
  // "Passed" for a passkey session: signed in with user verification (rule 35).
  { name: "passkey with UV", kind: "client_passkey", state: "account with a passkey", passed: true, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [G, G] } },
  { name: "passkey without UV", kind: "client_passkey", state: "account with a passkey", passed: false, expected: { [DEFAULT]: [G, G], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [CODE, CODE] } },
  { name: "passkey without UV, account with 2FA", kind: "client_passkey", state: "account with 2FA", passed: false, expected: { [DEFAULT]: [CODE, CODE], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [CODE, CODE] } },
  { name: "passkey with UV, account deactivated", kind: "client_passkey", state: "account deactivated", passed: true, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
  { name: "passkey with UV, contact deleted", kind: "client_passkey", state: "contact deleted", passed: true, expected: { [DEFAULT]: [OUT, OUT], [LINKS_ONLY]: [OUT, OUT], [TWO_FACTOR]: [OUT, OUT] } },
];

const SCOPES: PortalScope[] = ["requests", "account"];

/**
 * Where a session the old mode granted is not granted by the new one, yet the switch does not end it:
 * the new mode asks the same session for a second factor again, which is a redirect to a step, not an
 * end. Any other disagreement fails the test.
 */
const EXCEPTIONS = [
  // The session passed a code, then the client turned 2FA off; the 2FA mode has them enrol at once.
  "magic_link_and_login -> magic_link_and_login_2fa: password, account without 2FA, session passed (requests: needs_enrolment)",
  "magic_link_and_login -> magic_link_and_login_2fa: password, account without 2FA, session passed (account: needs_enrolment)",
  // With links only, 2FA is n/a and the link opens requests; back in the default mode the client's own 2FA applies again.
  "magic_link_only -> magic_link_and_login: link, account with 2FA (requests: needs_sign_in)",
];

describe("access: mode x session kind x account state x scope, and the sessions a switch ends", () => {
  let firm: TestFirm;
  const fixtures = new Map<string, { auth: PortalAuth; sessionId: string }>();

  beforeAll(async () => {
    firm = await createFirm({ plan: "business" });
    const now = Date.now();
    for (const row of ROWS) {
      let contact = await createContact(firm);
      let account = row.state === "no account" ? null : await createPortalAccount(firm, contact);
      if (account && row.state.startsWith("account with 2FA")) {
        // Re-enrolled: the account's enrolment is newer than the session's 2FA.
        const enabledAt = row.state.includes("re-enrolled") ? now + 1_000 : now - 60_000;
        [account] = await db.update(portalAccounts).set({ totpEnabledAt: enabledAt }).where(eq(portalAccounts.id, account.id)).returning();
      }
      if (account && row.state === "account deactivated") {
        [account] = await db.update(portalAccounts).set({ deactivatedAt: now }).where(eq(portalAccounts.id, account.id)).returning();
      }
      if (row.state === "contact deleted") {
        [contact] = await db.update(contacts).set({ deletedAt: now }).where(eq(contacts.id, contact.id)).returning();
      }
      const issued = await issueSession(db, {
        kind: row.kind,
        firmId: firm.id,
        contactId: contact.id,
        // A password session of a contact without an account points at an account that is gone.
        portalAccountId: row.kind !== "client_link" ? (account?.id ?? "account_gone") : null,
        twoFactorVerifiedAt: row.passed ? now : null,
      });
      await issued.insert;
      const passkeys = row.state === "account with a passkey" ? 1 : 0;
      fixtures.set(row.name, { auth: { session: issued.session, firm, contact, account, passkeys }, sessionId: issued.session.id });
    }
  });

  function access(row: Row, mode: SecurityMode, scope: PortalScope): Status {
    const { auth } = fixtures.get(row.name)!;
    return portalAccess({ ...auth, firm: { ...firm, securityMode: mode } }, firm.slug, scope).status;
  }

  async function endedBy(mode: SecurityMode): Promise<Set<string>> {
    const predicate = sessionsEndedBySwitch(firm.id, mode);
    if (!predicate) return new Set();
    const rows = await db.select({ id: sessions.id }).from(sessions).where(predicate);
    return new Set(rows.map((r) => r.id));
  }

  it.each(SECURITY_MODES)("%s: each row gets the access the table says", (mode) => {
    const got = ROWS.map((row) => [row.name, SCOPES.map((scope) => access(row, mode, scope))]);
    const want = ROWS.map((row) => [row.name, row.expected[mode]]);
    expect(got).toEqual(want);
  });

  it("another firm's portal path, or no session, is signed out", () => {
    const { auth } = fixtures.get("password, account with 2FA, session passed")!;
    expect(portalAccess(auth, "some-other-firm").status).toBe(OUT);
    expect(portalAccess(null, firm.slug).status).toBe(OUT);
  });

  it("the switch predicate, run on the D1 rows, ends what the mode table says", async () => {
    const ended = Object.fromEntries(
      await Promise.all(SECURITY_MODES.map(async (mode) => [mode, [...(await endedBy(mode))].map((id) => ROWS.find((r) => fixtures.get(r.name)!.sessionId === id)!.name).sort()])),
    );
    expect(ended).toEqual({
      [DEFAULT]: [],
      [LINKS_ONLY]: ROWS.filter((r) => r.kind !== "client_link").map((r) => r.name).sort(),
      [TWO_FACTOR]: ROWS.filter((r) => r.kind === "client_link" || !r.passed).map((r) => r.name).sort(),
    });
  });

  it("a switch never ends a session the new mode grants, and ends every session the new mode no longer grants (exceptions listed)", async () => {
    const disagreements: string[] = [];
    for (const to of SECURITY_MODES) {
      const ended = await endedBy(to);
      for (const row of ROWS) {
        const isEnded = ended.has(fixtures.get(row.name)!.sessionId);
        for (const scope of SCOPES) {
          const after = access(row, to, scope);
          if (isEnded) expect(after, `${to}: ${row.name} (${scope}) is ended but granted`).not.toBe(G);
          for (const from of SECURITY_MODES) {
            if (from === to || access(row, from, scope) !== G || after === G || isEnded) continue;
            disagreements.push(`${from} -> ${to}: ${row.name} (${scope}: ${after})`);
          }
        }
      }
    }
    expect(disagreements.sort()).toEqual([...EXCEPTIONS].sort());
  });
});
