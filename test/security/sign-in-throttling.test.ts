// SECURITY.md parameter "failed password sign-ins": throttled per account-and-IP and per IP
// (CF-Connecting-IP only, never X-Forwarded-For), with a higher per-account ceiling, so guessing stays
// slow but nobody can lock a victim out cheaply. Numbers: docs/decisions/007-password-sign-in-throttling.md.
// Every attempt goes through the real worker, for the client portal and for staff alike.
import { describe, expect, it } from "vitest";
import { countPasswordFailure, ipSubject, PASSWORD_THROTTLE } from "~/server/rate-limit.server";
import { createContact, createFirm, createPortalAccount, createStaff, db, PASSWORD } from "../support/factories";
import { Browser } from "../support/http";

const PER_ACCOUNT_AND_IP = PASSWORD_THROTTLE.perAccountAndIp.limit;
const PER_IP = PASSWORD_THROTTLE.perIp.limit;
const PER_ACCOUNT = PASSWORD_THROTTLE.perAccount.limit;

/** A fresh IPv4 address per call (counted, not random: two random ones could meet), so tests never share an IP's counters. */
let ipCounter = 0;
function freshIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 0xff}.${(ipCounter >> 8) & 0xff}.${ipCounter & 0xff}`;
}

function freshIpv6Prefix(): string {
  const bytes = crypto.getRandomValues(new Uint16Array(3));
  return `2001:db8:${[...bytes].map((n) => n.toString(16)).join(":")}`;
}

type Target = { email: string; path: string; password: string; /** the account's throttle subject */ account: string };
type Surface = {
  name: string;
  /** A real account with PASSWORD, and where it signs in. */
  target(): Promise<Target>;
  /** The path where `email` (possibly unknown) would sign in, on the same firm/surface as `target`. */
  otherEmailPath(target: Target): string;
};

const surfaces: Surface[] = [
  {
    name: "client portal",
    async target() {
      const firm = await createFirm();
      const contact = await createContact(firm);
      await createPortalAccount(firm, contact);
      return { email: contact.email, path: `/portal/${firm.slug}/login`, password: PASSWORD, account: `client:${firm.id}:${contact.email}` };
    },
    otherEmailPath: (target) => target.path,
  },
  {
    name: "staff",
    async target() {
      const firm = await createFirm();
      const staff = await createStaff(firm);
      return { email: staff.email, path: "/login", password: PASSWORD, account: `staff:${staff.email}` };
    },
    otherEmailPath: () => "/login",
  },
];

function attempt(target: Target, ip: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Browser(ip).post(target.path, { email: target.email, password }, headers);
}

async function fail(target: Target, ip: string, times: number, headers: (i: number) => Record<string, string> = () => ({})) {
  for (let i = 0; i < times; i++) {
    const response = await attempt(target, ip, `wrong-password-${i}-${crypto.randomUUID()}`, headers(i));
    expect(response.status).toBe(401);
  }
}

async function expectThrottled(response: Response) {
  expect(response.status).toBe(429);
  const body = await response.text();
  expect(body).toContain("Too many failed sign-ins");
  // A throttled answer never says whether the password was right.
  expect(body).not.toContain("The email or password is incorrect.");
}

for (const surface of surfaces) {
  describe(`failed password sign-ins (SECURITY.md parameters), ${surface.name}: no cheap lockout of a victim`, () => {
    it("an attacker's failures from one IP do not stop the victim signing in from their own IP, typos and all", async () => {
      const target = await surface.target();
      const victimIp = freshIp();
      // The victim's own few typos neither add to the attacker's budget nor use up theirs.
      await fail(target, victimIp, 3);
      const attackerIp = freshIp();
      await fail(target, attackerIp, PER_ACCOUNT_AND_IP);
      for (let i = 0; i < 5; i++) await expectThrottled(await attempt(target, attackerIp, `wrong-again-${i}-password`));
      expect((await attempt(target, victimIp, PASSWORD)).status).toBe(302);
      // Nor does the attack stop the victim on a network the account has never signed in from.
      expect((await attempt(target, freshIp(), PASSWORD)).status).toBe(302);
    });
  });

  describe(`failed password sign-ins (SECURITY.md parameters), ${surface.name}: guessing stays slow`, () => {
    it("after the per-account-and-IP limit that IP is throttled for the account, even with the right password", async () => {
      const target = await surface.target();
      const attackerIp = freshIp();
      await fail(target, attackerIp, PER_ACCOUNT_AND_IP);
      await expectThrottled(await attempt(target, attackerIp, PASSWORD));
      // The same IP is not shut out of other accounts by it (per-IP limit not reached).
      const other = await surface.target();
      expect((await attempt(other, attackerIp, PASSWORD)).status).toBe(302);
    });

    it("a distributed attacker (many IPs) reaches the per-account ceiling: then new IPs are refused, right password included", async () => {
      const target = await surface.target();
      // The victim's usual place: a completed sign-in from this IP before the attack.
      const victimIp = freshIp();
      expect((await attempt(target, victimIp, PASSWORD)).status).toBe(302);
      // Each password check costs a deliberately slow KDF, so most of the attack is counted through the
      // function the sign-in path itself calls (one failure per IP, as a botnet would)...
      const byHttp = 2 * PER_ACCOUNT_AND_IP;
      for (let i = 0; i < PER_ACCOUNT - byHttp; i++) await countPasswordFailure(db, { account: target.account, ip: freshIp() });
      // ...and the rest through the worker, concurrently from several IPs, each under its own
      // per-account-and-IP limit: failures racing each other must all be counted.
      expect((await attempt(target, freshIp(), PASSWORD)).status).toBe(302);
      await Promise.all([freshIp(), freshIp()].map((ip) => fail(target, ip, PER_ACCOUNT_AND_IP)));
      for (let i = 0; i < 3; i++) await expectThrottled(await attempt(target, freshIp(), i === 0 ? PASSWORD : `guess-${i}-password`));
      // Where the account has signed in before, the owner still gets in: the ceiling only bounds strangers.
      expect((await attempt(target, victimIp, PASSWORD)).status).toBe(302);
    });

    it("one IP spraying many accounts hits the per-IP limit, and then cannot sign in to a real account", async () => {
      const target = await surface.target();
      const sprayIp = freshIp();
      // As above: most of the spray counted through the sign-in path's own function, the rest by HTTP.
      const byHttp = 10;
      for (let i = 0; i < PER_IP - byHttp; i++) await countPasswordFailure(db, { account: `staff:spray-${i}-${crypto.randomUUID()}@victims.test`, ip: sprayIp });
      expect((await attempt(target, sprayIp, PASSWORD)).status).toBe(302);
      for (let i = 0; i < byHttp; i++) {
        const response = await new Browser(sprayIp).post(surface.otherEmailPath(target), {
          email: `spray-${i}-${crypto.randomUUID().slice(0, 8)}@victims.test`,
          password: "a-common-password-1",
        });
        expect(response.status).toBe(401);
      }
      await expectThrottled(await attempt(target, sprayIp, PASSWORD));
      // The account itself is not locked by it.
      expect((await attempt(target, freshIp(), PASSWORD)).status).toBe(302);
    });

    it("a spoofed X-Forwarded-For changes nothing: counted and throttled by CF-Connecting-IP only", async () => {
      const target = await surface.target();
      const attackerIp = freshIp();
      await fail(target, attackerIp, PER_ACCOUNT_AND_IP, (i) => ({ "x-forwarded-for": `192.0.2.${i}`, "x-real-ip": `192.0.2.${i}` }));
      for (const spoof of ["198.51.100.7", "192.0.2.200, 198.51.100.8", freshIp()]) {
        await expectThrottled(await attempt(target, attackerIp, PASSWORD, { "x-forwarded-for": spoof, "x-real-ip": spoof }));
      }
      // Naming the attacker's IP in X-Forwarded-For does not throttle the victim either.
      expect((await attempt(target, freshIp(), PASSWORD, { "x-forwarded-for": attackerIp })).status).toBe(302);
    });

    it("addresses of one IPv6 /64 count as one IP (a single host owns the whole /64)", async () => {
      const target = await surface.target();
      const prefix = freshIpv6Prefix();
      for (let i = 0; i < PER_ACCOUNT_AND_IP; i++) {
        const response = await attempt(target, `${prefix}:${(i + 1).toString(16)}::1`, `wrong-v6-${i}-password`);
        expect(response.status).toBe(401);
      }
      await expectThrottled(await attempt(target, `${prefix}:ffff:1:2:3`, PASSWORD));
      expect((await attempt(target, `${freshIpv6Prefix()}:0:0:0:1`, PASSWORD)).status).toBe(302);
    });
  });
}

describe("failed password sign-ins (SECURITY.md parameters), staff re-authentication", () => {
  it("an attacker failing at /login from elsewhere does not stop a signed-in staff member confirming their password", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = new Browser(freshIp());
    expect((await browser.post("/login", { email: staff.email, password: PASSWORD })).status).toBe(302);
    const target = { email: staff.email, path: "/login", password: PASSWORD, account: `staff:${staff.email}` };
    await fail(target, freshIp(), PER_ACCOUNT_AND_IP);
    const response = await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: "/app/contacts" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/app/contacts");
  });

  it("wrong passwords at re-authentication count like sign-in failures and are throttled for that IP", async () => {
    const firm = await createFirm();
    const staff = await createStaff(firm);
    const browser = new Browser(freshIp());
    expect((await browser.post("/login", { email: staff.email, password: PASSWORD })).status).toBe(302);
    for (let i = 0; i < PER_ACCOUNT_AND_IP; i++) {
      expect((await browser.post("/app/reauthenticate", { password: `wrong-${i}-password`, redirectTo: "/app/contacts" })).status).toBe(401);
    }
    const refused = await browser.post("/app/reauthenticate", { password: PASSWORD, redirectTo: "/app/contacts" });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain("Too many failed sign-ins");
  });
});

describe("failed password sign-ins (SECURITY.md parameters): the IP a failure is counted under", () => {
  it("is the IPv4 address, or the /64 of an IPv6 address however it is written", () => {
    expect(ipSubject("203.0.113.9")).toBe("203.0.113.9");
    expect(ipSubject("::ffff:203.0.113.9")).toBe("203.0.113.9");
    const forms = ["2001:db8:a:b::1", "2001:DB8:A:B:0:0:0:2", "2001:0db8:000a:000b:ffff:ffff:ffff:ffff", " 2001:db8:a:b::  "];
    expect(new Set(forms.map(ipSubject))).toEqual(new Set(["2001:db8:a:b::/64"]));
    expect(ipSubject("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipSubject("::1")).toBe("0:0:0:0::/64");
    expect(ipSubject("2001:db8:a:c::1")).not.toBe(ipSubject("2001:db8:a:b::1"));
    // Not an address: counted as given, never thrown on.
    for (const odd of ["unknown", "1::2::3", "zzzz::1", ""]) expect(() => ipSubject(odd)).not.toThrow();
  });
});
