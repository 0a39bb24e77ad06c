/**
 * TOTP (RFC 6238) on top of otpauth. Pure: the clock is passed in.
 * Parameters are what authenticator apps support: SHA-1, 6 digits, 30 s period,
 * and ±1 step of clock drift (RFC 6238 §5.2 recommends at most one step back).
 */
import { Secret, TOTP } from "otpauth";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_DRIFT_STEPS = 1;
const SECRET_BYTES = 20; // RFC 4226 §4 R6: at least 128 bits; 160 matches SHA-1's block use.

export type TotpAlgorithm = "SHA1" | "SHA256" | "SHA512";

export function generateTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

export function otpauthUrl(base32Secret: string, accountName: string, issuer = "Gatehouse"): string {
  return new TOTP({ issuer, label: accountName, secret: Secret.fromBase32(base32Secret), algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS }).toString();
}

/**
 * The time step the code belongs to, or null when it matches none within the drift
 * window. The caller must still refuse a step it has accepted before (replay).
 */
export function matchTotpStep(
  base32Secret: string,
  code: string,
  nowMs: number,
  options: { algorithm?: TotpAlgorithm; digits?: number; driftSteps?: number } = {},
): number | null {
  const digits = options.digits ?? TOTP_DIGITS;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(base32Secret),
    algorithm: options.algorithm ?? "SHA1",
    digits,
    period: TOTP_PERIOD_SECONDS,
    timestamp: nowMs,
    window: options.driftSteps ?? TOTP_DRIFT_STEPS,
  });
  if (delta === null) return null;
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/** The current code (for the dev-only helper and tests). */
export function totpCodeAt(base32Secret: string, nowMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(base32Secret), algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, timestamp: nowMs });
}
