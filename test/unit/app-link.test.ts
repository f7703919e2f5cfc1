// The nav's current-page rule (app/components/app-link.tsx): the same as <NavLink> without `end`.
import { describe, expect, it } from "vitest";
import { isCurrentPath } from "../../app/components/app-link";

describe("isCurrentPath", () => {
  it("marks the page itself and the pages under it, in any case, and nothing that merely starts alike", () => {
    expect(isCurrentPath("/app/contacts", "/app/contacts")).toBe(true);
    expect(isCurrentPath("/app/contacts/", "/app/contacts")).toBe(true);
    expect(isCurrentPath("/app/contacts/contact_1/edit", "/app/contacts")).toBe(true);
    expect(isCurrentPath("/APP/Contacts", "/app/contacts")).toBe(true);
    expect(isCurrentPath("/app/contacts", "/app/contacts/")).toBe(true);
    expect(isCurrentPath("/app/contacts-archive", "/app/contacts")).toBe(false);
    expect(isCurrentPath("/app/requests", "/app/contacts")).toBe(false);
    expect(isCurrentPath("/app", "/app/contacts")).toBe(false);
    expect(isCurrentPath("/app/settings/api-keys", "/app/settings/client-portal/security")).toBe(false);
  });
});
