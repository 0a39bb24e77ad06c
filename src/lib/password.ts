/**
 * Password hashing with PBKDF2-HMAC-SHA256 through WebCrypto.
 *
 * Threat model: a leaked users table must not yield passwords cheaply. workerd caps
 * PBKDF2 at 100,000 iterations, which is what we use (OWASP Password Storage Cheat
 * Sheet asks for 600,000 for SHA-256; the Workers runtime refuses more, see docs/sessions.md).
 * Stored format: `pbkdf2_sha256$<iterations>$<salt b64url>$<hash b64url>`.
 * Passwords are NFKC-normalised before hashing (NIST SP 800-63B-4 §3.1.1.2), so the same
 * password typed on two keyboards (composed or decomposed accents, full-width digits)
 * verifies. Hashes written before normalisation still verify: see verifyPassword.
 * An account without a password holds one of NO_PASSWORD's markers instead of a hash:
 * verifyPassword refuses it whatever is typed, after the same work as a real check.
 * The rules a new password must pass live in ./password-policy.ts.
 */
import { fromBase64Url, randomBytes, toBase64Url } from "./crypto";

export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16; // NIST SP 800-132 §5.1: at least 128 bits of salt.
const HASH_BYTES = 32;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BYTES * 8);
  return new Uint8Array(bits);
}

/** The form a password is hashed and checked in: NFKC (Unicode compatibility composition). */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(normalizePassword(password), salt, PBKDF2_ITERATIONS);
  return `pbkdf2_sha256$${PBKDF2_ITERATIONS}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

/**
 * What password_hash holds for an account that has no password: a removed member's
 * tombstone, and a member SCIM created (src/scim), who signs in through the tenant's
 * identity provider. Neither is a hash of any password: verifyPassword refuses them.
 */
export const NO_PASSWORD = { removed: "removed", provisioned: "provisioned:no-password" } as const;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterationsText, saltText, hashText] = stored.split("$");
  if (scheme !== "pbkdf2_sha256" || !iterationsText || !saltText || !hashText) {
    // No password (NO_PASSWORD) or nothing usable: refused after the derivation a real
    // hash costs, so the time of a sign-in does not tell that the account has no password.
    await verifyPassword(password, DUMMY_PASSWORD_HASH);
    return false;
  }
  const expected = fromBase64Url(hashText);
  const salt = fromBase64Url(saltText);
  const matches = async (candidate: string) => {
    const actual = await derive(candidate, salt, Number(iterationsText));
    return actual.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(actual, expected);
  };
  const normalized = normalizePassword(password);
  if (await matches(normalized)) return true;
  // A hash from before normalisation was of the password as typed. Only a password that
  // NFKC changes costs a second derivation (which tells nothing about the account).
  return normalized !== password && matches(password);
}

/**
 * What an unknown email's password is checked against (src/auth/sign-in-subject.ts), so
 * that a miss costs the same PBKDF2 work as a hit (no user enumeration by timing): a real
 * hash, in the stored format at PBKDF2_ITERATIONS, of 32 random bytes nobody kept. A
 * constant rather than made on first use, which would cost the first unknown email in
 * each isolate a second derivation. Were its password ever found, it would still let
 * nobody in: an unknown email is refused whatever the password.
 */
export const DUMMY_PASSWORD_HASH = "pbkdf2_sha256$100000$4e11RnEiyoAWqzqrpiQ7hg$m1M2dn_80eAWnhi71nC5YIgYUsYWQU7JyHe5LVZw9Rs";
