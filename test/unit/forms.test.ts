// The form helpers every route answers with (docs/decisions/016-forms.md).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { failure, validateForm } from "~/server/forms.server";
import { refuse } from "~/server/result";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.append(key, value);
  return data;
}

const schema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("rename"), name: z.string().min(1, "Enter a name.") }),
  z.object({ intent: z.literal("delete") }),
]);

describe("validateForm", () => {
  it("gives the branch's typed data for a known intent", () => {
    const result = validateForm(schema, form({ intent: "rename", name: "Ada" }));
    expect(result).toEqual({ ok: true, data: { intent: "rename", name: "Ada" } });
  });

  it("refuses a missing or unknown intent with a 400 and the page's sentence, no field blamed", () => {
    for (const fields of [{}, { intent: "drop" }, { intent: "" }] as Array<Record<string, string>>) {
      expect(validateForm(schema, form(fields), { unknownIntent: "Use the form on this page." })).toEqual({
        ok: false,
        status: 400,
        error: "Use the form on this page.",
      });
    }
  });

  it("refuses bad fields of a known intent with a 422 and the first message per field", () => {
    expect(validateForm(schema, form({ intent: "rename", name: "" }))).toEqual({
      ok: false,
      status: 422,
      error: "Please correct the highlighted fields.",
      fieldErrors: { name: "Enter a name." },
    });
  });

  it("a file where text belongs fails the string schema", () => {
    const data = new FormData();
    data.append("intent", "rename");
    data.append("name", new File(["x"], "x.txt"));
    expect(validateForm(schema, data)).toMatchObject({ ok: false, status: 422 });
  });
});

describe("failure", () => {
  it("answers a refusal in the page's shape with the refusal's status and the page's extras", async () => {
    const response = failure(refuse(409, "Taken.", { email: "Taken." }), { values: { email: "a@b.c" } });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ ok: false, formError: "Taken.", fieldErrors: { email: "Taken." }, values: { email: "a@b.c" } });
  });

  it("answers a status and a sentence the same way", async () => {
    const response = failure(403, "Admins only.", { review: null });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ ok: false, formError: "Admins only.", fieldErrors: {}, review: null });
  });
});
