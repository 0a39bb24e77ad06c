import { describe, expect, it } from "vitest";
import errorsMd from "../docs/errors.md?raw";
import { ERROR_CATALOGUE, ERROR_TABLE_END, ERROR_TABLE_START, type ErrorCode, errorTableMarkdown, statusesOf } from "../src/error-catalogue";

const SOURCES = import.meta.glob<string>("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });
const CATALOGUE_FILE = "../src/error-catalogue.ts";

const isCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CATALOGUE, code);

/**
 * Every place a code is written outside the catalogue, as `{ file, code, status? }`: a status
 * then a code (`new ApiError(403, "FORBIDDEN"`, an RPC failure, a local helper), a code
 * as an answer's `error` field, errorBody("CODE") and notFound(what, "CODE").
 */
function codesWritten(sources: Record<string, string>) {
  const patterns = [
    /\b([1-5]\d\d),\s*"([A-Z][A-Z0-9_]+)"/g,
    /\berror:\s*()"([A-Z][A-Z0-9_]+)"/g,
    /\berrorBody\(\s*()"([A-Z][A-Z0-9_]+)"/g,
    /\bnotFound\([^()]*,\s*()"([A-Z][A-Z0-9_]+)"\)/g,
  ];
  const found: { file: string; code: string; status: number | null }[] = [];
  for (const [file, text] of Object.entries(sources)) {
    if (file === CATALOGUE_FILE) continue;
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) found.push({ file, code: m[2] ?? "", status: m[1] ? Number(m[1]) : null });
    }
  }
  return found;
}

describe("one catalogue of error codes", () => {
  it("every error code written anywhere in src is in the catalogue, with one of its statuses", () => {
    const found = codesWritten(SOURCES);
    expect(found.length).toBeGreaterThan(100);
    const unknown = found.filter((f) => !isCode(f.code)).map((f) => `${f.file}: ${f.code}`);
    expect(unknown).toEqual([]);
    const wrongStatus = found
      .filter((f) => f.status !== null && isCode(f.code) && !(statusesOf(f.code) as readonly unknown[]).includes(f.status))
      .map((f) => `${f.file}: ${f.status} ${f.code}`);
    expect(wrongStatus).toEqual([]);
  });

  it("every code in the catalogue is answered somewhere, so the docs list no code the API never sends", () => {
    const elsewhere = Object.entries(SOURCES)
      .filter(([file]) => file !== CATALOGUE_FILE)
      .map(([, text]) => text)
      .join("\n");
    const unused = Object.keys(ERROR_CATALOGUE).filter((code) => !elsewhere.includes(`"${code}"`));
    expect(unused).toEqual([]);
  });

  it("the table of codes in docs/errors.md is the catalogue's (npm run docs:errors rewrites it)", () => {
    const start = errorsMd.indexOf(ERROR_TABLE_START);
    const end = errorsMd.indexOf(ERROR_TABLE_END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(errorsMd.slice(start, end + ERROR_TABLE_END.length)).toBe(errorTableMarkdown());
  });
});
