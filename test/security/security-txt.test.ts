// docs/security.md "Reporting a vulnerability": /.well-known/security.txt (RFC 9116) names a contact and
// has not expired. This test fails a year after the last review, which is when it should be reviewed again.
import { describe, expect, it } from "vitest";
import { Browser } from "../support/http";

describe("security.txt", () => {
  it("answers plain text with a contact and an expiry in the future, within a year", async () => {
    const response = await new Browser().fetch("/.well-known/security.txt");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const fields = Object.fromEntries(
      (await response.text())
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]),
    );
    expect(fields.Contact).toMatch(/^mailto:security@/);
    const expires = Date.parse(fields.Expires);
    expect(expires).toBeGreaterThan(Date.now());
    expect(expires - Date.now()).toBeLessThanOrEqual(366 * 24 * 60 * 60_000);
    expect(fields.Canonical).toBe("http://portal.test/.well-known/security.txt");
  });
});
