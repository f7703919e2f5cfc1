// Fails when a numbered rule of docs/security.md has no test named after it.
//
// A rule counts as tested when some `describe(`, `it(` or `test(` title under test/ contains "rule N"
// (N as a whole number: "rule 1" does not match "rule 12"; "rules 3 and 4" is not understood, name each).
// Rules of features not built yet are listed in docs/security.md as "pending (issue #N)": they are
// printed as pending and do not fail the check. Every other rule without a named test fails it.
//
// Usage: tsx scripts/check-security-rules.ts [--docs docs/security.md] [--tests test]
//        tsx scripts/check-security-rules.ts --self-test
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export type Rule = { number: number; text: string; pending: string | null };

/** Numbered rules of the "Rules" section: lines like `12. Text ...`, pending when they say `pending (issue #N)`. */
export function parseRules(markdown: string): Rule[] {
  const start = markdown.search(/^## Rules\b/m);
  if (start < 0) throw new Error('docs/security.md has no "## Rules" section');
  const rest = markdown.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const rules: Rule[] = [];
  for (const match of section.matchAll(/^(\d+)\.\s+(.*)$/gm)) {
    const pending = /\bpending \(issue #(\d+)\)/i.exec(match[2]);
    rules.push({ number: Number(match[1]), text: match[2], pending: pending ? `issue #${pending[1]}` : null });
  }
  return rules;
}

/** Titles of describe/it/test calls (with .only/.skip/.each/.concurrent and friends) in one source text. */
export function testTitles(source: string): string[] {
  const titles: string[] = [];
  const pattern = /\b(?:describe|it|test)(?:\.\w+(?:\([^()]*\))?)*\s*\(\s*(["'`])((?:\\.|(?!\1)[^\\])*)\1/g;
  for (const match of source.matchAll(pattern)) titles.push(match[2]);
  return titles;
}

/** Rule numbers a title names: "rule 12", "Rule 12:", "(rule 32)"; not "rule 120" for 12. */
export function rulesNamedIn(title: string): number[] {
  return [...title.matchAll(/\brule\s+(\d+)(?!\d)/gi)].map((m) => Number(m[1]));
}

function testFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...testFiles(path));
    else if (/\.(test|spec)\.tsx?$/.test(entry)) files.push(path);
  }
  return files;
}

export type Report = { tested: Map<number, string[]>; missing: Rule[]; pending: Rule[]; pendingButTested: Rule[] };

export function check(rules: Rule[], files: Array<{ path: string; source: string }>): Report {
  const tested = new Map<number, string[]>();
  for (const file of files) {
    for (const title of testTitles(file.source)) {
      for (const n of rulesNamedIn(title)) tested.set(n, [...(tested.get(n) ?? []), `${file.path}: ${title}`]);
    }
  }
  return {
    tested,
    missing: rules.filter((r) => !r.pending && !tested.has(r.number)),
    pending: rules.filter((r) => r.pending && !tested.has(r.number)),
    // A pending rule that has gained a test should drop its "pending" mark, so the list stays true.
    pendingButTested: rules.filter((r) => r.pending && tested.has(r.number)),
  };
}

function selfTest(): void {
  const docs = [
    "# Security",
    "## Rules, each with its test",
    "1. Tokens are hashed.",
    "2. GET never consumes.",
    "12. Enrolment burns the code.",
    "33. Passkeys. pending (issue #12)",
    "## Threat model",
    "3. Not a rule: a list item of another section.",
  ].join("\n");
  const rules = parseRules(docs);
  const expect = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`self-test failed: ${what}`);
  };
  expect(JSON.stringify(rules.map((r) => r.number)) === "[1,2,12,33]", "parses only the Rules section");
  expect(rules[3].pending === "issue #12", "reads the pending mark");
  expect(JSON.stringify(rulesNamedIn("rule 12: x (rule 1)")) === "[12,1]", "reads numbers");
  expect(rulesNamedIn("rule 120").length === 1 && rulesNamedIn("rule 120")[0] === 120, "whole numbers");
  const source = [
    'describe("rule 12: enrolment", () => {',
    "  it(`rule 2: GET and HEAD ${x}`, async () => {});",
    "  it.each([1])('rule 33 (passkeys)', () => {});",
    '  it("mentions rule 1 only in a comment"); // rule 1',
    "});",
  ].join("\n");
  // Without the one title naming rule 1, the "// rule 1" comment must not count, nor must "rule 12".
  const withoutRule1 = source.replace('it("mentions rule 1 only in a comment"); ', "");
  const report = check(rules, [{ path: "x.test.ts", source: withoutRule1 }]);
  expect(report.missing.map((r) => r.number).join() === "1", "a rule named only in a comment is missing");
  expect(!report.tested.has(1), "rule 12 does not count as rule 1");
  expect(report.pendingButTested.map((r) => r.number).join() === "33", "a pending rule with a test is reported");
  const full = check(rules, [{ path: "x.test.ts", source }]);
  expect(full.missing.length === 0, "every rule found when each is named");
  console.log("check-security-rules self-test: ok");
}

function main(argv: string[]): number {
  if (argv.includes("--self-test")) {
    selfTest();
    return 0;
  }
  const option = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const docsPath = option("--docs", "docs/security.md");
  const testsDir = option("--tests", "test");
  const rules = parseRules(readFileSync(docsPath, "utf8"));
  if (rules.length === 0) {
    console.error(`${docsPath}: no numbered rules found`);
    return 1;
  }
  const files = testFiles(testsDir).map((path) => ({ path, source: readFileSync(path, "utf8") }));
  const report = check(rules, files);
  for (const rule of rules) {
    const where = report.tested.get(rule.number);
    if (where) console.log(`rule ${rule.number}: ${where.length} test${where.length === 1 ? "" : "s"}`);
  }
  for (const rule of report.pending) console.log(`rule ${rule.number}: pending (${rule.pending}), no test yet`);
  for (const rule of report.pendingButTested) console.error(`rule ${rule.number} is marked pending but has a test: drop the mark in ${docsPath}`);
  for (const rule of report.missing) console.error(`rule ${rule.number} has no test named "rule ${rule.number}": ${rule.text}`);
  const failed = report.missing.length + report.pendingButTested.length;
  console.log(failed ? `${failed} problem(s)` : `${rules.length - report.pending.length} rules tested, ${report.pending.length} pending`);
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
