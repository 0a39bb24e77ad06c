import { Secret } from "otpauth";
import { describe, expect, it } from "vitest";
import { type TotpAlgorithm, matchTotpStep } from "../src/stepup/totp";

// RFC 6238 Appendix B: test vectors (8 digits, 30 s period), one seed per algorithm.
const SEEDS: Record<TotpAlgorithm, string> = {
  SHA1: "12345678901234567890",
  SHA256: "12345678901234567890123456789012",
  SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
};

const VECTORS: [number, string, TotpAlgorithm][] = [
  [59, "94287082", "SHA1"],
  [59, "46119246", "SHA256"],
  [59, "90693936", "SHA512"],
  [1111111109, "07081804", "SHA1"],
  [1111111109, "68084774", "SHA256"],
  [1111111109, "25091201", "SHA512"],
  [1111111111, "14050471", "SHA1"],
  [1111111111, "67062674", "SHA256"],
  [1111111111, "99943326", "SHA512"],
  [1234567890, "89005924", "SHA1"],
  [1234567890, "91819424", "SHA256"],
  [1234567890, "93441116", "SHA512"],
  [2000000000, "69279037", "SHA1"],
  [2000000000, "90698825", "SHA256"],
  [2000000000, "38618901", "SHA512"],
  [20000000000, "65353130", "SHA1"],
  [20000000000, "77737706", "SHA256"],
  [20000000000, "47863826", "SHA512"],
];

describe("TOTP verification passes RFC 6238 Appendix B", () => {
  it.each(VECTORS)("T=%i code %s (%s)", (seconds, code, algorithm) => {
    const secret = Secret.fromLatin1(SEEDS[algorithm]).base32;
    const step = matchTotpStep(secret, code, seconds * 1000, { algorithm, digits: 8, driftSteps: 0 });
    expect(step).toBe(Math.floor(seconds / 30));
  });

  it("rejects a vector's code one step later without drift, accepts it with ±1 step", () => {
    const secret = Secret.fromLatin1(SEEDS.SHA1).base32;
    expect(matchTotpStep(secret, "94287082", 89_000, { digits: 8, driftSteps: 0 })).toBeNull();
    expect(matchTotpStep(secret, "94287082", 89_000, { digits: 8, driftSteps: 1 })).toBe(1);
    expect(matchTotpStep(secret, "94287082", 119_000, { digits: 8, driftSteps: 1 })).toBeNull();
  });

  it("rejects malformed codes without calling the HMAC", () => {
    const secret = Secret.fromLatin1(SEEDS.SHA1).base32;
    for (const code of ["", "1234567", "abcdefgh", "9428708２", " 94287082"]) {
      expect(matchTotpStep(secret, code, 59_000, { digits: 8 })).toBeNull();
    }
  });
});
