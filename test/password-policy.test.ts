import { describe, expect, it } from "vitest";
import { checkPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../src/lib/password-policy";

const reasonOf = (password: string, email?: string) => {
  const verdict = checkPassword(password, email === undefined ? {} : { email });
  return verdict.ok ? "OK" : verdict.reason;
};

describe("password policy (NIST SP 800-63B-4)", () => {
  it("a password shorter than 15 characters is refused, 15 and more are accepted", () => {
    expect(MIN_PASSWORD_LENGTH).toBe(15);
    expect(reasonOf("fourteen chars")).toBe("TOO_SHORT"); // 14
    expect(reasonOf("fifteen charss!")).toBe("OK"); // 15
  });

  it("length is counted in code points after NFKC, not UTF-16 units", () => {
    // 14 emoji: 28 UTF-16 units, still 14 characters.
    expect(reasonOf("🐈".repeat(7) + "🐕".repeat(7))).toBe("TOO_SHORT");
    expect(reasonOf("🐈".repeat(8) + "🐕".repeat(7))).toBe("OK");
  });

  it("at least 64 characters are allowed, up to 256", () => {
    expect(MAX_PASSWORD_LENGTH).toBeGreaterThanOrEqual(64);
    const words = "tangerine lighthouse quietly folds maps ";
    expect(reasonOf(words.repeat(7).slice(0, 256))).toBe("OK");
    expect(reasonOf(words.repeat(7).slice(0, 257))).toBe("TOO_LONG");
  });

  it("every Unicode script is accepted and no composition rule applies", () => {
    for (const ok of ["correct horse battery staple", "пароль для входа в систему", "パスワードはとても長くて安全です", "alllowercaseletterswithnothingelse", "mañana será otro día"]) {
      expect(reasonOf(ok), ok).toBe("OK");
    }
  });

  it("a password on the common and breached list is refused, whatever its case", () => {
    for (const known of ["passwordpassword", "1qaz2wsx3edc4rfv", "Q1W2E3R4T5Y6U7I8", "qwertyuiop12345", "123456789qwerty"]) {
      expect(reasonOf(known), known).toBe("COMMON");
    }
  });

  it("a password that is one short unit repeated, or one run of consecutive characters, is refused", () => {
    expect(reasonOf("aaaaaaaaaaaaaaaa")).toBe("REPETITIVE");
    expect(reasonOf("abcdabcdabcdabcd")).toBe("REPETITIVE");
    expect(reasonOf("abcdefghijklmnop")).toBe("SEQUENTIAL");
    expect(reasonOf("3456789012345678")).toBe("SEQUENTIAL");
    expect(reasonOf("zyxwvutsrqponmlk")).toBe("SEQUENTIAL");
    expect(reasonOf("abcdefghijklmnoq")).toBe("OK");
  });

  it("a password containing the account's email or its name part is refused", () => {
    expect(reasonOf("my name is alice.smith and I rule", "Alice.Smith@acme.test")).toBe("CONTAINS_EMAIL");
    expect(reasonOf("alice.smith@acme.test2025!", "alice.smith@acme.test")).toBe("CONTAINS_EMAIL");
    expect(reasonOf("a perfectly fine sentence here", "alice.smith@acme.test")).toBe("OK");
  });
});
