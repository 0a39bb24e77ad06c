import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RETURN_TO_MAX_LENGTH, sanitizeReturnTo } from "../src/gateway/return-to";

const BASE = "https://app.test/";

const kept: string[] = ["/", "/app", "/app/notes?id=3&sort=asc", "/search?q=%2F%2Fnot-a-path", "/docs#section-2", "/caf%C3%A9", "/a%20b", "/a/../b", "/x?next=//evil.test"];

const refused: [string, unknown][] = [
  ["not a string", 42],
  ["an object", { toString: () => "/app" }],
  ["empty", ""],
  ["protocol-relative", "//evil.test"],
  ["protocol-relative with path", "//evil.test/app"],
  ["backslash after the slash", "/\\evil.test"],
  ["backslash anywhere", "/app\\..\\x"],
  ["a scheme", "https://evil.test/app"],
  ["a javascript scheme", "javascript:alert(1)"],
  ["a host without scheme", "evil.test/app"],
  ["relative path", "app"],
  ["a tab (browsers drop it: //evil)", "/\t/evil.test"],
  ["a newline", "/\n/evil.test"],
  ["a space", "/ /evil.test"],
  ["a null byte", "/app\u0000"],
  ["non-ASCII lookalike slash", "/\u2215evil.test"],
  ["encoded double slash", "/%2F%2Fevil.test"],
  ["encoded double slash, lower case", "/%2f/evil.test"],
  ["encoded backslash", "/%5Cevil.test"],
  ["double-encoded slash", "/%252F%252Fevil.test"],
  ["encoded control", "/%0a/evil.test"],
  ["not decodable", "/%E0%A4%A"],
  ["dot segments resolving to //", "/a/..//evil.test"],
  ["over 2,048 characters", `/${"a".repeat(RETURN_TO_MAX_LENGTH)}`],
];

describe("sanitizeReturnTo keeps only same-origin paths", () => {
  it.each(kept)("keeps %s", (value) => {
    expect(sanitizeReturnTo(value)).toBe(value);
  });

  it.each(refused)("refuses %s", (_what, value) => {
    expect(sanitizeReturnTo(value)).toBe("/");
  });

  it("a path of exactly 2,048 characters is kept", () => {
    const longest = `/${"a".repeat(RETURN_TO_MAX_LENGTH - 1)}`;
    expect(sanitizeReturnTo(longest)).toBe(longest);
  });

  const fragments = ["/", "//", "\\", "%2F", "%2f", "%5C", "%5c", "%25", "%252F", "%", "http:", "https:", "//evil.test", "evil.test", "@", ":", ".", "..", "?", "#", "a", "\t", "\n", " ", "%0a", "%09", "\u3002", "\uff0f", "javascript:"];
  const hostile = fc.array(fc.constantFrom(...fragments), { maxLength: 8 }).map((parts) => parts.join(""));

  it("whatever the input, the result resolved against the app stays on the app's origin", () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.string(), fc.string({ unit: "binary" }), fc.webUrl(), fc.webPath()), (input) => {
        const result = sanitizeReturnTo(input);
        expect(new URL(result, BASE).origin).toBe("https://app.test");
        expect(result.startsWith("/") && !result.startsWith("//")).toBe(true);
        const decoded = decodeURIComponent(result.split(/[?#]/, 1)[0] ?? "");
        expect(decoded.startsWith("//") || decoded.startsWith("/\\")).toBe(false);
        expect(sanitizeReturnTo(result)).toBe(result);
      }),
      { numRuns: 2000 },
    );
  });
});
