// An import chunk judges its rows exactly as the whole-file check would, without checking every row of
// the file again for each chunk (issue 13's bench: that was most of a chunk's CPU).
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkChunk, checkRows, guessMapping } from "../../app/server/staff/contact-import-rows.server";
import { emailField } from "../../app/server/fields";
import type { DataRow } from "../../app/server/csv-parse.server";

const header = ["Name", "Email"];
const mapping = guessMapping(header);

/** Rows with repeats inside and across chunks, repeats of failing rows, other cases, and bad rows. */
function rowsOf(count: number): DataRow[] {
  const rows: DataRow[] = [];
  for (let i = 0; i < count; i++) {
    let email = `client${i}@example.test`;
    if (i % 7 === 3) email = `client${i - 3}@example.test`.toUpperCase(); // a repeat, another case
    if (i % 11 === 5) email = `broken${i}-example.test`; // not an address
    if (i % 13 === 6) email = `broken${i - 13}-example.test`; // repeats a failing row: not a repeat
    if (i % 17 === 9) email = `client${Math.max(0, i - 40)}@example.test`; // a repeat from a chunk before
    rows.push({ rowNumber: i + 2, cells: [i % 19 === 4 ? "" : `Client ${i}`, email] });
  }
  return rows;
}

describe("checkChunk", () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives every chunk, wherever its bounds fall, the same result as checking the whole file", () => {
    const rows = rowsOf(300);
    const whole = checkRows(rows, mapping);
    expect(whole.some((r) => r.problem?.reason.startsWith("Same email as row"))).toBe(true);
    for (const size of [1, 7, 25, 64, 300]) {
      for (let from = 0; from < rows.length; from += size) {
        expect(checkChunk(rows, mapping, from, from + size), `${from}..${from + size}`).toEqual(whole.slice(from, from + size));
      }
    }
  });

  it("validates the chunk's rows and only the earlier rows that share an address with it", () => {
    const rows = rowsOf(10_000);
    const spy = vi.spyOn(emailField, "safeParse");
    checkChunk(rows, mapping, 9_500, 10_000);
    // 500 rows of its own, plus the earlier rows its repeats point at (about one in seven and one in seventeen).
    expect(spy.mock.calls.length).toBeLessThan(700);
  });
});
