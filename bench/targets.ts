// What the benchmark loads, as data: add a page by adding an entry. Each target is probed once
// before it is loaded; one that does not answer its expected status yet is reported as skipped.
import { BENCH_TOKENS, LARGE_FIRM, contactId, sessionCookieValue } from "./seed-large";
import { DEMO_PASSWORD } from "../db/seed";

/** Which cookie the target sends: the signed-in staff member, or one of the seeded client sessions. */
export type Identity = "anonymous" | "staff" | "clientLink" | "clientPassword" | "clientTwoFactorPending";

export type Target = {
  name: string;
  method: "GET" | "POST";
  path: string;
  identity: Identity;
  /** A urlencoded form body for POST targets. */
  form?: Record<string, string>;
  expectStatus: number;
  /**
   * Text the page answers with when it is the page meant: a status alone does not tell a Continue page
   * from an expired link's, both 200.
   */
  expectText?: string;
  connections: number;
  /**
   * An authenticated page: the far-client run (bench/distance.ts) measures these. Every GET target but
   * /healthz is held to its floor's budgets, public pages too.
   */
  page: boolean;
};

const portal = `/portal/${LARGE_FIRM.slug}`;

export const TARGETS: Target[] = [
  { name: "/healthz (floor)", method: "GET", path: "/healthz", identity: "anonymous", expectStatus: 200, connections: 10, page: false },
  { name: "staff contacts, large firm", method: "GET", path: "/app/contacts", identity: "staff", expectStatus: 200, expectText: "Ava Adams 0", connections: 10, page: true },
  {
    name: "contact Details tab",
    method: "GET",
    path: `/app/contacts/${contactId(0)}`,
    identity: "staff",
    expectStatus: 200,
    expectText: "<h1>Ava Adams 0</h1>",
    connections: 10,
    page: true,
  },
  {
    name: "client requests, link session",
    method: "GET",
    path: `${portal}/requests`,
    identity: "clientLink",
    expectStatus: 200,
    expectText: "Documents for 2022",
    connections: 10,
    page: true,
  },
  {
    name: "client requests, password session",
    method: "GET",
    path: `${portal}/requests`,
    identity: "clientPassword",
    expectStatus: 200,
    expectText: "Documents for 2021",
    connections: 10,
    page: true,
  },
  {
    name: "magic-link Continue page",
    method: "GET",
    path: `/l/${BENCH_TOKENS.accessLink}`,
    identity: "anonymous",
    expectStatus: 200,
    expectText: ">Continue</button>",
    connections: 10,
    page: false,
  },
  { name: "client 2FA step", method: "GET", path: `${portal}/2fa`, identity: "clientTwoFactorPending", expectStatus: 200, expectText: "<h1>Enter your code</h1>", connections: 10, page: false },
  { name: "staff sign-in page", method: "GET", path: "/login", identity: "anonymous", expectStatus: 200, expectText: "<h1>Sign in to your firm</h1>", connections: 10, page: false },
  // A public page that reads D1 (the firm by its slug) with no session: the kind a replica may serve.
  { name: "client sign-in page", method: "GET", path: `${portal}/login`, identity: "anonymous", expectStatus: 200, expectText: 'name="password"', connections: 10, page: false },
  {
    // scrypt is meant to be slow: two connections measure its cost without queueing the CPU.
    name: "staff sign-in POST (scrypt)",
    method: "POST",
    path: "/login",
    identity: "anonymous",
    form: { email: LARGE_FIRM.adminEmail, password: DEMO_PASSWORD },
    expectStatus: 302,
    connections: 2,
    page: false,
  },
];

/** Cookie headers for each identity; the staff one comes from a real sign-in at run time. */
export function cookieFor(identity: Identity, staffCookie: string): string | undefined {
  switch (identity) {
    case "anonymous":
      return undefined;
    case "staff":
      return staffCookie;
    case "clientLink":
      return `__Host-portal_session=${sessionCookieValue(BENCH_TOKENS.linkSession)}`;
    case "clientPassword":
      return `__Host-portal_session=${sessionCookieValue(BENCH_TOKENS.passwordSession)}`;
    case "clientTwoFactorPending":
      return `__Host-portal_session=${sessionCookieValue(BENCH_TOKENS.twoFactorPendingSession)}`;
  }
}
