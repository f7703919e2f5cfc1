// The client's request list, grouped by due date: overdue, this week (today and the next 7 days), later,
// no date; completed requests last whatever their date.
import { describe, expect, it } from "vitest";
import { groupByDueDate, type RequestSummary } from "~/server/requests/portal-requests.server";

const request = (id: string, dueDate: string | null, status: RequestSummary["status"] = "open"): RequestSummary => ({
  id,
  title: id,
  dueDate,
  status,
  completedAt: status === "completed" ? 1 : null,
  items: 1,
  done: status === "completed" ? 1 : 0,
});

describe("groupByDueDate", () => {
  it("puts each request in one group, keeping the order it was given", () => {
    const today = "2026-03-10";
    const groups = groupByDueDate(
      [
        request("yesterday", "2026-03-09"),
        request("today", "2026-03-10"),
        request("in7days", "2026-03-17"),
        request("in8days", "2026-03-18"),
        request("nodate", null),
        request("doneOverdue", "2026-01-01", "completed"),
        request("doneNoDate", null, "completed"),
        request("longAgo", "2025-12-31"),
      ],
      today,
    );
    const ids = (list: RequestSummary[]) => list.map((r) => r.id);
    expect(ids(groups.overdue)).toEqual(["yesterday", "longAgo"]);
    expect(ids(groups.thisWeek)).toEqual(["today", "in7days"]);
    expect(ids(groups.later)).toEqual(["in8days"]);
    expect(ids(groups.noDate)).toEqual(["nodate"]);
    expect(ids(groups.completed)).toEqual(["doneOverdue", "doneNoDate"]);
  });

  it("crosses month and year ends by the calendar", () => {
    const groups = groupByDueDate([request("newYear", "2027-01-07"), request("after", "2027-01-08")], "2026-12-31");
    expect(groups.thisWeek.map((r) => r.id)).toEqual(["newYear"]);
    expect(groups.later.map((r) => r.id)).toEqual(["after"]);
  });
});
