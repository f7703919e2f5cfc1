// "An admin may require 2FA for all staff of the firm" (issue 4).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { firms } from "../../db/schema";
import { createFirm, createStaff, db, PASSWORD } from "../support/factories";
import { signInStaff } from "../support/http";
import { enableTotp, staffOwner } from "../support/two-factor";

const PATH = "/app/settings/client-portal/security";

describe("requiring 2FA for all staff", () => {
  it("an admin turns it on; staff without 2FA are sent to set it up, staff with it are not", async () => {
    const firm = await createFirm();
    const admin = await createStaff(firm, { role: "admin" });
    const member = await createStaff(firm, { role: "member" });
    const adminBrowser = await signInStaff(admin.email, PASSWORD);
    const memberBrowser = await signInStaff(member.email, PASSWORD);
    expect((await memberBrowser.fetch("/app/contacts")).status).toBe(200);

    const saved = await adminBrowser.post(PATH, { intent: "staff-2fa", required: "yes" });
    expect(saved.status).toBe(200);
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.staffTwoFactorRequired).toBe(true);

    for (const path of ["/app/contacts", "/app/requests", PATH]) {
      const response = await memberBrowser.fetch(path);
      expect(response.status, path).toBe(302);
      expect(response.headers.get("location"), path).toBe("/app/account/two-factor");
    }
    expect((await memberBrowser.fetch("/app/account")).status).toBe(200);

    const enrolled = await createStaff(firm, { role: "member" });
    await enableTotp(staffOwner(enrolled));
    const pending = await signInStaff(enrolled.email, PASSWORD);
    // With 2FA on, the code step comes first, as always; the requirement adds nothing to it.
    expect((await pending.fetch("/app/contacts")).headers.get("location")).toMatch(/^\/login\/2fa/);
  });

  it("a member cannot change it (403) and bad input changes nothing", async () => {
    const firm = await createFirm();
    const member = await createStaff(firm, { role: "member" });
    const browser = await signInStaff(member.email, PASSWORD);
    expect((await browser.post(PATH, { intent: "staff-2fa", required: "yes" })).status).toBe(403);
    const admin = await signInStaff((await createStaff(firm, { role: "admin" })).email, PASSWORD);
    expect((await admin.post(PATH, { intent: "staff-2fa", required: "maybe" })).status).toBe(422);
    const [row] = await db.select().from(firms).where(eq(firms.id, firm.id));
    expect(row.staffTwoFactorRequired).toBe(false);
  });
});
