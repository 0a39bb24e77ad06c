// Hashing runs inside workerd: verifying compares with its crypto.subtle.timingSafeEqual.
// The policy's own rules are pure and live in password-policy.test.ts.
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "../src/lib/crypto";
import { hashPassword, verifyPassword } from "../src/lib/password";

describe("password hashing normalises with NFKC", () => {
  it("the same password typed composed or decomposed verifies against one hash", async () => {
    const composed = "crème brûlée for everyone";
    const decomposed = composed.normalize("NFD");
    expect(decomposed).not.toBe(composed);
    const stored = await hashPassword(decomposed);
    expect(await verifyPassword(composed, stored)).toBe(true);
    expect(await verifyPassword("creme brulee for everyone", stored)).toBe(false);
  });

  it("a hash written before normalisation (of the password as typed) still verifies", async () => {
    // The old format: PBKDF2 over the raw, un-normalised input.
    const typed = "ｆｕｌｌｗｉｄｔｈ passphrase ５";
    expect(typed.normalize("NFKC")).not.toBe(typed);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(typed), "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100_000 }, key, 256);
    const legacy = `pbkdf2_sha256$100000$${toBase64Url(salt)}$${toBase64Url(new Uint8Array(bits))}`;
    expect(fromBase64Url(toBase64Url(salt))).toEqual(salt);
    expect(await verifyPassword(typed, legacy)).toBe(true);
    expect(await verifyPassword("fullwidth passphrase 5x", legacy)).toBe(false);
  });
});
