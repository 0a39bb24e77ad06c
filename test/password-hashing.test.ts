// Hashing runs inside workerd: verifying compares with its crypto.subtle.timingSafeEqual.
// The policy's own rules are pure and live in password-policy.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { fromBase64Url, toBase64Url } from "../src/lib/crypto";
import { hashPassword, verifyPassword } from "../src/lib/password";
import { PASSWORD, SEEDED_PASSWORD_ITERATIONS, seedTenant } from "./helpers";

/** The iteration counts of the PBKDF2 derivations `run` makes. */
async function derivations(run: () => Promise<unknown>): Promise<(number | undefined)[]> {
  const derive = vi.spyOn(crypto.subtle, "deriveBits");
  await run();
  const counts = derive.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
  derive.mockRestore();
  return counts;
}

describe("passwords are stored at production cost", () => {
  it("a new password is hashed at 100,000 PBKDF2 iterations, the most workerd allows, and the hash records that cost", async () => {
    let stored = "";
    expect(await derivations(async () => (stored = await hashPassword(PASSWORD)))).toEqual([100_000]);
    expect(stored.split("$")[1]).toBe("100000");
  });

  it("a hash is checked at the cost it records: the test members' cheaper hash verifies their password only, at its own cost", async () => {
    const t = await seedTenant("cost");
    const row = await env.DB.prepare("SELECT password_hash AS hash FROM users WHERE id = ?").bind(t.member.id).first<{ hash: string }>();
    const stored = row?.hash ?? "";
    expect(SEEDED_PASSWORD_ITERATIONS).toBeLessThan(100_000);
    let verified: boolean[] = [];
    const work = await derivations(async () => (verified = [await verifyPassword(PASSWORD, stored), await verifyPassword(`${PASSWORD}!`, stored)]));
    expect(verified).toEqual([true, false]);
    expect(work).toEqual([SEEDED_PASSWORD_ITERATIONS, SEEDED_PASSWORD_ITERATIONS]);
  });
});

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
