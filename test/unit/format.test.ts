// Dates and sizes as the pages show them: UTC with the zone named, and a dash for "never".
import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime } from "~/lib/format";
import { formatBytes, STATUS_LABELS } from "~/lib/requests";
import { REQUEST_STATUSES } from "../../db/schema";

describe("formatDateTime and formatDate", () => {
  it("show UTC, to the minute or the day", () => {
    const ms = Date.UTC(2026, 10, 29, 23, 59, 59, 999);
    expect(formatDateTime(ms)).toBe("2026-11-29 23:59 UTC");
    expect(formatDate(ms)).toBe("2026-11-29");
  });

  it("show a dash for no time at all", () => {
    for (const empty of [null, undefined, 0]) {
      expect(formatDateTime(empty)).toBe("—");
      expect(formatDate(empty)).toBe("—");
    }
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1 KB"],
    [1536, "2 KB"],
    [1024 * 1024 - 1, "1024 KB"],
    [1024 * 1024, "1.0 MB"],
    [50 * 1024 * 1024, "50.0 MB"],
  ])("%i bytes is %s", (size, text) => {
    expect(formatBytes(size)).toBe(text);
  });
});

describe("STATUS_LABELS", () => {
  it("has a label for every request status, and none for a status that does not exist", () => {
    expect(Object.keys(STATUS_LABELS).sort()).toEqual([...REQUEST_STATUSES].sort());
  });
});
