// Statements built once per isolate (issue 14, ADR 021): the same rows as the query built per request,
// in a batch or alone, and refusals where a statement would be misused.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { contacts, firms } from "../../db/schema";
import { createReader } from "../../app/server/read-batch.server";
import { runAlone, statement } from "../../app/server/statements.server";
import { createContact, createFirm, db } from "../support/factories";

const contactOfFirm = statement(["firmId", "contactId"], (d, p) =>
  d.select().from(contacts).where(and(eq(contacts.firmId, p.firmId), eq(contacts.id, p.contactId))).limit(1),
);
// A join whose tables share column names (id, name, created_at): only right when read alone.
const contactWithFirm = statement(
  ["contactId"],
  (d, p) => d.select({ contact: contacts, firm: firms }).from(contacts).innerJoin(firms, eq(firms.id, contacts.firmId)).where(eq(contacts.id, p.contactId)),
  { alone: true },
);

describe("statements", () => {
  it("read in a batch, give the rows the same query built per request gives, for each request's values", async () => {
    const [a, b] = [await createFirm(), await createFirm()];
    const [ca, cb] = [await createContact(a), await createContact(b)];
    const read = createReader(db);
    const [fromA, fromB, crossed, built] = await Promise.all([
      read(contactOfFirm({ firmId: a.id, contactId: ca.id })),
      read(contactOfFirm({ firmId: b.id, contactId: cb.id })),
      read(contactOfFirm({ firmId: a.id, contactId: cb.id })),
      read(db.select().from(contacts).where(and(eq(contacts.firmId, b.id), eq(contacts.id, cb.id))).limit(1)),
    ]);
    expect(fromA).toEqual([expect.objectContaining({ id: ca.id, firmId: a.id, name: ca.name })]);
    expect(fromB).toEqual(built);
    expect(crossed).toEqual([]);
  });

  it("a join read alone maps each table's same-named columns to its own fields", async () => {
    const firm = await createFirm();
    const contact = await createContact(firm);
    const [row] = await runAlone(db, contactWithFirm({ contactId: contact.id }));
    const [expected] = await db.select({ contact: contacts, firm: firms }).from(contacts).innerJoin(firms, eq(firms.id, contacts.firmId)).where(eq(contacts.id, contact.id));
    expect(row).toEqual(expected);
    expect(row.contact.id).toBe(contact.id);
    expect(row.firm.id).toBe(firm.id);
    expect(row.firm.name).toBe(firm.name);
  });

  it("refuse misuse: a missing value, a join in a batch, a batch statement alone, a statement outside a reader", async () => {
    const firm = await createFirm();
    const read = createReader(db);
    await expect(read(contactOfFirm({ firmId: firm.id } as never))).rejects.toThrow(/contactId/);
    await expect(read(contactWithFirm({ contactId: "x" }))).rejects.toThrow(/runAlone/);
    await expect(runAlone(db, contactOfFirm({ firmId: firm.id, contactId: "x" }))).rejects.toThrow(/request's batch/);
    // A join with same-named columns, in a batch: refused, as a query or as a statement, not mis-mapped.
    const join = db.select({ contact: contacts, firm: firms }).from(contacts).innerJoin(firms, eq(firms.id, contacts.firmId));
    await expect(read(join)).rejects.toThrow(/two columns named "id"/);
    const batchedJoin = statement(["contactId"], (d, p) =>
      d.select({ contact: contacts, firm: firms }).from(contacts).innerJoin(firms, eq(firms.id, contacts.firmId)).where(eq(contacts.id, p.contactId)),
    );
    expect(() => batchedJoin({ contactId: "x" })).toThrow(/two columns named "id"/);
    const { direct } = await import("../../app/server/read-batch.server");
    await expect(direct(contactOfFirm({ firmId: firm.id, contactId: "x" }))).rejects.toThrow(/createReader/);
  });
});
