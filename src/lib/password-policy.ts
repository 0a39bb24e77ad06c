/**
 * The password rules, one owner for every place a password is chosen (invitation accept,
 * reset, change). NIST SP 800-63B-4 §3.1.1.2:
 * - Length: at least 15 characters, for everyone. NIST allows 8 when the password is one
 *   factor of several, but a Gatehouse tenant may not require a second factor, and one
 *   rule is simpler to state and to test than one that changes when a user enrols TOTP.
 * - At least 64 allowed: up to 256 (the cap only bounds the PBKDF2 input).
 * - Every Unicode character accepted, counted in code points after NFKC normalisation;
 *   hashing and verification normalise the same way (src/lib/password.ts).
 * - Refused when it is on a list of common and breached passwords (./common-passwords.ts,
 *   from @zxcvbn-ts/language-common, MIT), compared case-insensitively, or in Have I Been
 *   Pwned's Pwned Passwords (./breached-passwords.ts: by a 5-character hash prefix; that
 *   check alone fails open, for the reason given there), when it is one short
 *   unit repeated ("aaaa…", "abcabc…") or one run of consecutive characters ("abcdef…",
 *   "98765…"), or when it contains the user's email or its local part (context words).
 * - No composition rules (no "one digit, one symbol"), no expiry.
 * A refusal is `400 WEAK_PASSWORD` with the reason in the message and in `reason`.
 */
import { ApiError, type AuditHint } from "../errors";
import { type ConfigEnv, parseConfig } from "../config";
import { breachVerdict } from "./breached-passwords";
import { COMMON_PASSWORDS } from "./common-passwords";
import { normalizePassword } from "./password";

import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./password-length";

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };

export type PasswordVerdict =
  | { ok: true }
  | { ok: false; reason: "TOO_SHORT" | "TOO_LONG" | "COMMON" | "REPETITIVE" | "SEQUENTIAL" | "CONTAINS_EMAIL" | "BREACHED"; message: string };

const common = new Set(COMMON_PASSWORDS);

/** Judges a new password. `context.email`: the account's email, which the password may not contain. */
export function checkPassword(password: string, context: { email?: string } = {}): PasswordVerdict {
  const normalized = normalizePassword(password);
  const codePoints = [...normalized];
  if (codePoints.length < MIN_PASSWORD_LENGTH) {
    return { ok: false, reason: "TOO_SHORT", message: `Use at least ${MIN_PASSWORD_LENGTH} characters (a few words make a good one)` };
  }
  if (codePoints.length > MAX_PASSWORD_LENGTH) {
    return { ok: false, reason: "TOO_LONG", message: `Use at most ${MAX_PASSWORD_LENGTH} characters` };
  }
  const lower = normalized.toLowerCase();
  if (common.has(lower)) {
    return { ok: false, reason: "COMMON", message: "This password is on a list of common or breached passwords; choose another" };
  }
  if (/^(.{1,4}?)\1+$/su.test(lower)) {
    return { ok: false, reason: "REPETITIVE", message: "This password is one short pattern repeated; choose another" };
  }
  if (isOneRun(codePoints.map((ch) => ch.toLowerCase().codePointAt(0) ?? 0))) {
    return { ok: false, reason: "SEQUENTIAL", message: "This password is a run of consecutive characters; choose another" };
  }
  const email = context.email?.trim().toLowerCase();
  const local = email?.split("@")[0];
  if (email && (lower.includes(email) || (local !== undefined && local.length >= 4 && lower.includes(local)))) {
    return { ok: false, reason: "CONTAINS_EMAIL", message: "The password may not contain your email address or its name part" };
  }
  return { ok: true };
}

const BREACHED: PasswordVerdict = {
  ok: false,
  reason: "BREACHED",
  message: "This password has appeared in a data breach, so attackers try it first; choose another",
};

/**
 * Throws 400 WEAK_PASSWORD (with `reason`) unless the password passes checkPassword and is
 * not a known breached one (asked only when every local rule passed: no call out for a
 * password refused anyway). `audit`: what the FAIL row should name (e.g. the tenant, on a
 * route without a session).
 */
export async function assertPasswordAcceptable(env: ConfigEnv, password: string, context: { email?: string } = {}, audit: AuditHint = {}): Promise<void> {
  let verdict = checkPassword(password, context);
  if (verdict.ok && (await breachVerdict(normalizePassword(password), parseConfig(env).pwnedPasswordsApi)) === "breached") verdict = BREACHED;
  if (!verdict.ok) {
    throw new ApiError(400, "WEAK_PASSWORD", verdict.message, { details: { reason: verdict.reason }, audit: { ...audit, failureReason: `WEAK_PASSWORD:${verdict.reason}` } });
  }
}

/** Every step +1 (or every step -1), digits wrapping 9→0: "abcdef…", "3456789012…", "zyxw…". */
function isOneRun(points: number[]): boolean {
  const step = (a: number, b: number) => {
    const isDigit = (p: number) => p >= 48 && p <= 57;
    if (isDigit(a) && isDigit(b)) return (((b - a) % 10) + 10) % 10 === 1 ? 1 : (((a - b) % 10) + 10) % 10 === 1 ? -1 : 0;
    return b - a;
  };
  const first = step(points[0] ?? 0, points[1] ?? 0);
  if (first !== 1 && first !== -1) return false;
  for (let i = 1; i < points.length; i++) if (step(points[i - 1] ?? 0, points[i] ?? 0) !== first) return false;
  return true;
}
