/**
 * How long a password may be (NIST SP 800-63B-4 §3.1.1.2; the reasoning is in
 * ./password-policy.ts, which enforces it). Import-free: the panel's forms show and
 * pre-check the same numbers the server enforces.
 */
export const MIN_PASSWORD_LENGTH = 15;
export const MAX_PASSWORD_LENGTH = 256;
