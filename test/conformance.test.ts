/// <reference types="vite/client" />
// SECURITY.md maps ASVS requirements to the tests that prove them; this keeps the map true.
import { describe, expect, it } from "vitest";
import securityMd from "../SECURITY.md?raw";

/** Every test file's source, read at build time by vite (works inside the workerd pool). */
const TEST_SOURCES = import.meta.glob<string>("./**/*.test.ts", { query: "?raw", import: "default", eager: true });

type Row = { line: number; requirement: string; file: string; name: string };

const TABLE_HEADING = "## ASVS 5.0 requirements and the tests that prove them";
/** Requirements of other chapters that Gatehouse's own answers meet, in the same form. */
const OTHER_CHAPTERS_HEADING = "## Outside V6, V7 and V16: Gatehouse's own answers";

/** The rows of the table under `heading`: `| ASVS | requirement | test file | test name |`. */
function conformanceRows(markdown: string, heading = TABLE_HEADING): Row[] {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith("## "); i++) {
    const text = lines[i]!;
    if (!text.startsWith("|")) continue;
    // Cells split on unescaped pipes; a `\|` inside a cell is a literal pipe.
    const cells = text.slice(1, text.endsWith("|") ? -1 : undefined).split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
    if (!/^\d+\.\d+\.\d+$/.test(cells[0] ?? "")) continue; // the header and its rule
    const name = (cells.at(-1) ?? "").replace(/^`(.*)`$/, "$1");
    rows.push({ line: i + 1, requirement: cells[0]!, file: cells.at(-2) ?? "", name });
  }
  return rows;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What is wrong with one row: its file is not a test file, or no running test has its name. */
function rowProblem(row: Row, sources: Record<string, string>): string | null {
  const source = sources[`./${row.file.replace(/^test\//, "")}`];
  if (!row.file.startsWith("test/") || source === undefined) return `SECURITY.md:${row.line} names ${row.file}, which is not a test file`;
  // `it("name"` or `test("name"` with any quote; it.skip / it.todo / it.each do not count.
  const declared = new RegExp(`(?<![.\\w])(?:it|test)\\(\\s*(["'\`])${escapeRegExp(row.name)}\\1`);
  if (!declared.test(source)) return `SECURITY.md:${row.line} names the test "${row.name}", which ${row.file} does not declare`;
  return null;
}

describe("SECURITY.md's ASVS table names tests that exist", () => {
  const rows = conformanceRows(securityMd);

  it("the table covers authentication (V6), sessions (V7) and logging (V16), and only those", () => {
    const chapters = new Set(rows.map((row) => row.requirement.split(".")[0]));
    expect([...chapters].sort()).toEqual(["16", "6", "7"]);
  });

  it("every test file and test name in SECURITY.md's ASVS table exists", () => {
    const problems = rows.map((row) => rowProblem(row, TEST_SOURCES)).filter((problem) => problem !== null);
    expect(problems).toEqual([]);
  });

  it("every test file and test name in SECURITY.md's table of other chapters exists", () => {
    const others = conformanceRows(securityMd, OTHER_CHAPTERS_HEADING);
    expect(others.length).toBeGreaterThan(0);
    expect(others.map((row) => rowProblem(row, TEST_SOURCES)).filter((problem) => problem !== null)).toEqual([]);
  });

  it("the check itself refuses a renamed test, a missing file, a skipped test, a look-alike call and a file outside test/", () => {
    const sources = {
      "./a.test.ts": 'it("real name", () => {});\nit.skip("skipped name", () => {});\ndescribe("a group", () => {});\naudit("decoy name");',
    };
    const row = (file: string, name: string): Row => ({ line: 1, requirement: "6.1.1", file, name });
    expect(rowProblem(row("test/a.test.ts", "real name"), sources)).toBeNull();
    expect(rowProblem(row("test/a.test.ts", "real nam"), sources)).toMatch(/does not declare/);
    expect(rowProblem(row("test/a.test.ts", "skipped name"), sources)).toMatch(/does not declare/);
    expect(rowProblem(row("test/a.test.ts", "a group"), sources)).toMatch(/does not declare/);
    expect(rowProblem(row("test/a.test.ts", "decoy name"), sources)).toMatch(/does not declare/);
    expect(rowProblem(row("test/b.test.ts", "real name"), sources)).toMatch(/not a test file/);
    expect(rowProblem(row("src/a.test.ts", "real name"), sources)).toMatch(/not a test file/);
  });

  it("the parser reads names with backticks stripped and escaped pipes restored", () => {
    const md = `${TABLE_HEADING}\n\n| ASVS | r | file | name |\n|---|---|---|---|\n| 7.3.1 | idle \\| timeout | test/a.test.ts | \`a \\| b\` |\n\n## Next\n| 6.1.1 | x | test/z.test.ts | \`z\` |\n`;
    expect(conformanceRows(md)).toEqual([{ line: 5, requirement: "7.3.1", file: "test/a.test.ts", name: "a | b" }]);
  });
});
