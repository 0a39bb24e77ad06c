import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "../src/lib/crypto";

// The hand-written codec these replaced (btoa/atob and a byte loop): the oracle.
function oracleTo(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function oracleFrom(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe("base64url: the native codec agrees with the hand-written one it replaced", () => {
  it("encodes every byte string the same, and decodes it back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64Url(bytes);
        return text === oracleTo(bytes) && same(fromBase64Url(text), bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes padded standard base64 (keys written before key sets) like the old decoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const padded = btoa(String.fromCharCode(...bytes));
        return same(fromBase64Url(padded), oracleFrom(padded));
      }),
      { numRuns: 500 },
    );
  });

  it("refuses what is not base64 (throws, as the old decoder did)", () => {
    for (const bad of ["a", "ab$c", "abc=d", "!!!!"]) {
      expect(() => oracleFrom(bad), bad).toThrow();
      expect(() => fromBase64Url(bad), bad).toThrow();
    }
  });
});
