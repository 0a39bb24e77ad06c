import { describe, expect, it } from "vitest";
import { PublicPathsError, parsePublicPaths } from "../src/gateway/public-paths";

const SAMPLE = '["/", "/pricing", "/assets/*", "/blog/*.html"]';

function problemsOf(text: string): string[] {
  try {
    parsePublicPaths(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PublicPathsError);
    return (error as PublicPathsError).problems;
  }
  throw new Error("expected PUBLIC_PATHS to be refused");
}

describe("PUBLIC_PATHS", () => {
  it("accepts a JSON array or a comma list, with the same meaning", () => {
    const json = parsePublicPaths(SAMPLE);
    const list = parsePublicPaths(" /, /pricing ,/assets/*, /blog/*.html ");
    expect(list.patterns).toEqual(json.patterns);
  });

  it("nothing is public when PUBLIC_PATHS is unset or empty", () => {
    for (const text of [undefined, "", "  ", "[]"]) {
      const m = parsePublicPaths(text);
      expect(m.isPublic("/")).toBe(false);
      expect(m.isPublic("/pricing")).toBe(false);
    }
  });

  it("an exact pattern matches only that path", () => {
    const m = parsePublicPaths(SAMPLE);
    expect(m.isPublic("/")).toBe(true);
    expect(m.isPublic("/pricing")).toBe(true);
    expect(m.isPublic("/pricing/")).toBe(false);
    expect(m.isPublic("/pricing/x")).toBe(false);
    expect(m.isPublic("/pricingx")).toBe(false);
    expect(m.isPublic("/Pricing")).toBe(false);
    expect(m.isPublic("/app")).toBe(false);
  });

  it("a * matches within one segment only", () => {
    const m = parsePublicPaths(SAMPLE);
    expect(m.isPublic("/blog/hello.html")).toBe(true);
    expect(m.isPublic("/blog/a/b.html")).toBe(false);
    expect(m.isPublic("/blog/a%2Fb.html")).toBe(false);
    expect(m.isPublic("/blog/hello.json")).toBe(false);
  });

  it("a trailing /* covers the subtree but not the bare prefix", () => {
    const m = parsePublicPaths(SAMPLE);
    expect(m.isPublic("/assets/")).toBe(true);
    expect(m.isPublic("/assets/app.css")).toBe(true);
    expect(m.isPublic("/assets/img/logo.svg")).toBe(true);
    expect(m.isPublic("/assets")).toBe(false);
    expect(m.isPublic("/assetsx/app.css")).toBe(false);
  });

  it("a path that climbs out of a public subtree is never public", () => {
    const m = parsePublicPaths(SAMPLE);
    for (const path of ["/assets/../app", "/assets/%2e%2e/app", "/assets/%2E%2E/app", "/assets/.%2e/app", "/assets/..;/app", "/assets/./x", "/assets/%2e/x", "/assets/x%2F..%2F..%2Fapp", "/assets/x%5C..%5Capp"]) {
      expect(m.isPublic(path), path).toBe(false);
    }
  });

  it("empty segments, controls and undecodable escapes are never public", () => {
    const m = parsePublicPaths(SAMPLE);
    for (const path of ["//pricing", "/assets//x", "/assets/%00", "/assets/%E0%A4%A", "pricing", ""]) {
      expect(m.isPublic(path), path).toBe(false);
    }
  });

  it("matching runs on the decoded path", () => {
    const m = parsePublicPaths(SAMPLE);
    expect(m.isPublic("/%70ricing")).toBe(true);
    expect(m.isPublic("/blog/caf%C3%A9.html")).toBe(true);
  });

  it("a bad pattern is refused at startup, each problem listed", () => {
    const problems = problemsOf('["pricing", "/a//b", "/assets/../app", "/x/**", "/a b", "/ok"]');
    expect(problems).toHaveLength(5);
    expect(problems.join("\n")).toMatch(/"pricing" must start with \//);
    expect(problems.join("\n")).toMatch(/"\/a\/\/b" has an empty segment/);
    expect(problems.join("\n")).toMatch(/"\/assets\/\.\.\/app" has a \. or \.\. segment/);
    expect(problems.join("\n")).toMatch(/"\/x\/\*\*" uses \*\*/);
    expect(problemsOf("[nope")).toEqual(["not valid JSON"]);
    expect(problemsOf('{"a":1}').length).toBeGreaterThan(0);
  });
});
