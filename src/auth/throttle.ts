/**
 * Sign-in throttles. Threat model: online guessing (one address, or a botnet spread
 * over many) and its mirror image, locking a victim out by failing on purpose.
 *
 * - Per address: 100 attempts a minute (CF-Connecting-IP; an IPv6 client counts per
 *   /64, the block one subscriber usually gets), by the LOGIN_ADDRESS_LIMITER rate
 *   limiting binding. If that binding is not configured or fails, the same limit is
 *   counted in D1 instead (so the check is never skipped).
 * - Per email and address: 10 attempts per 15 minutes. This is the limit a single
 *   attacker meets; it never touches the owner signing in from elsewhere.
 * - Per account (email): a much higher ceiling for guesses spread over many
 *   addresses, with backoff: 100 per 15 minutes, then 500 per 24 hours. It counts
 *   only attempts the narrower limits let through.
 * - A browser that signed in as this email before (a device cookie, src/auth/device.ts)
 *   skips the per-account and per-email-and-address limits and meets its own instead:
 *   10 per 15 minutes per device. So an attacker who fills the account ceiling does
 *   not lock the owner out of the browsers the owner already uses.
 *
 * Every attempt is reserved before the password is checked (parallel guesses cannot
 * overshoot); a success clears the email-and-address and device counters. Unknown
 * emails are counted exactly like known ones (same answers, same D1 work).
 * OWASP ASVS 4.0 V2.2.1 / NIST SP 800-63B-4 §3.2.2 (at most 100 consecutive failures).
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { formatAddress, networkAddress, parseAddress } from "../ip-rules/cidr";
import { clientIp } from "../lib/request-meta";
import { type Reservation, type ThrottlePolicy, clearAttempts, reserveAttempts } from "../lib/throttle";
import { errorSummary, log } from "../lib/log";

/** Mirrors `[[ratelimits]] LOGIN_ADDRESS_LIMITER` in wrangler.toml (period 60 s). */
export const LOGIN_ADDRESS_LIMIT: ThrottlePolicy = { maxAttempts: 100, windowSeconds: 60 };
export const LOGIN_EMAIL_ADDRESS_LIMIT: ThrottlePolicy = { maxAttempts: 10, windowSeconds: 15 * 60 };
export const LOGIN_DEVICE_LIMIT: ThrottlePolicy = { maxAttempts: 10, windowSeconds: 15 * 60 };
export const LOGIN_ACCOUNT_LIMITS: readonly [ThrottlePolicy, ThrottlePolicy] = [
  { maxAttempts: 100, windowSeconds: 15 * 60 },
  { maxAttempts: 500, windowSeconds: 24 * 60 * 60 },
];

export const loginKeys = {
  address: (address: string) => `login-address:${address}`,
  emailAddress: (email: string, address: string) => `login:${email}:${address}`,
  device: (deviceId: string) => `login-device:${deviceId}`,
  account: (email: string, policy: ThrottlePolicy) => `login-account:${policy.windowSeconds}:${email}`,
};

export type ThrottleScope = "address" | "email-address" | "device" | "account";
export type ThrottleRefusal = { scope: ThrottleScope; retryAfterSeconds: number };

/** The address a sign-in counts against: CF-Connecting-IP only; IPv6 by its /64. */
export function throttleAddress(c: Context<AppEnv>): string {
  const raw = clientIp(c);
  if (raw === null) return "unknown";
  const parsed = parseAddress(raw);
  if (!parsed.ok) return `invalid:${raw.slice(0, 64)}`;
  if (parsed.value.kind() === "ipv6") return `${formatAddress(networkAddress(parsed.value, 64))}/64`;
  return formatAddress(parsed.value);
}

/** True when the edge rate limiter admits one more attempt; null when it cannot answer. */
async function edgeAdmits(c: Context<AppEnv>, address: string): Promise<boolean | null> {
  const limiter = c.env.LOGIN_ADDRESS_LIMITER;
  if (!limiter) return null;
  try {
    return (await limiter.limit({ key: address })).success;
  } catch (err) {
    log.error("rate limiter failed; counting in D1", { error: errorSummary(err) });
    return null;
  }
}

/** Sign-in fails closed: a D1 error before the password check is a 503, never a pass or a 500. */
export function signInUnavailable(_c: Context<AppEnv>, what: string, err: unknown): ApiError {
  log.error(`${what} failed`, { error: errorSummary(err) });
  return new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");
}

async function reserve(c: Context<AppEnv>, items: [ThrottleScope, Reservation][]): Promise<ThrottleRefusal | null> {
  const [first, ...rest] = items.map(([, r]) => r);
  if (!first) return null;
  let waits: (number | null)[];
  try {
    waits = await reserveAttempts(c.var.db, [first, ...rest], c.get("now"));
  } catch (err) {
    throw signInUnavailable(c, "sign-in throttle", err);
  }
  // The first counter over its limit names the refusal; the longest wait is the answer.
  let refusal: ThrottleRefusal | null = null;
  for (const [i, wait] of waits.entries()) {
    const scope = items[i]?.[0];
    if (wait === null || !scope) continue;
    if (!refusal) refusal = { scope, retryAfterSeconds: wait };
    else refusal.retryAfterSeconds = Math.max(refusal.retryAfterSeconds, wait);
  }
  return refusal;
}

/**
 * Reserves one sign-in attempt for `email` from this request's address (and device,
 * when `deviceId` is a valid device cookie for this email). Returns the refusal, if any.
 */
export async function reserveSignIn(c: Context<AppEnv>, email: string, deviceId: string | null): Promise<ThrottleRefusal | null> {
  const address = throttleAddress(c);
  const edge = await edgeAdmits(c, address);
  if (edge === false) return { scope: "address", retryAfterSeconds: LOGIN_ADDRESS_LIMIT.windowSeconds };

  const narrow: [ThrottleScope, Reservation][] = deviceId
    ? [["device", { key: loginKeys.device(deviceId), policy: LOGIN_DEVICE_LIMIT }]]
    : [["email-address", { key: loginKeys.emailAddress(email, address), policy: LOGIN_EMAIL_ADDRESS_LIMIT }]];
  if (edge === null) narrow.unshift(["address", { key: loginKeys.address(address), policy: LOGIN_ADDRESS_LIMIT }]);
  const refused = await reserve(c, narrow);
  if (refused || deviceId) return refused;

  // Only what the narrower limits let through counts toward the account's ceiling, so a
  // single address hammering one email cannot fill it.
  return reserve(
    c,
    LOGIN_ACCOUNT_LIMITS.map((policy): [ThrottleScope, Reservation] => ["account", { key: loginKeys.account(email, policy), policy }]),
  );
}

/**
 * Reserves one request against this address's sign-in limit alone: for what a sign-in
 * does before it names anyone (a passkey sign-in's challenge, a D1 row an anonymous
 * client could otherwise make without bound). Returns the refusal, if any.
 */
export async function reserveAddressAttempt(c: Context<AppEnv>): Promise<ThrottleRefusal | null> {
  const address = throttleAddress(c);
  const edge = await edgeAdmits(c, address);
  if (edge === false) return { scope: "address", retryAfterSeconds: LOGIN_ADDRESS_LIMIT.windowSeconds };
  if (edge === true) return null;
  return reserve(c, [["address", { key: loginKeys.address(address), policy: LOGIN_ADDRESS_LIMIT }]]);
}

/** Batch items run with the successful sign-in: its narrow counters start again. */
export function clearSignInAttempts(c: Context<AppEnv>, email: string, deviceId: string | null) {
  const db = c.var.db;
  return [clearAttempts(db, loginKeys.emailAddress(email, throttleAddress(c))), ...(deviceId ? [clearAttempts(db, loginKeys.device(deviceId))] : [])];
}
