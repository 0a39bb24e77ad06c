/**
 * Checks a second factor (or, where policy allows, the password) for one user, on
 * every path that accepts one: sign-in, step-up verification, TOTP confirmation.
 *
 * Threat model: online guessing (5 attempts per user per 15 minutes across all
 * paths, NIST SP 800-63B-4 §3.2.2 allows up to 100), replay of an observed code
 * (a time step is accepted at most once per user, enforced by a conditional UPDATE
 * so concurrent requests cannot both win), and recovery codes used twice.
 */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Context } from "hono";
import { type User, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import { verifyPassword } from "../lib/password";
import { type ThrottlePolicy, clearAttempts, reserveAttempt } from "../lib/throttle";
import type { StepUpMethod } from "./policy";
import { consumeRecoveryCode } from "./recovery-codes";
import { resealSecret } from "./reseal";
import { openSecret } from "./secret-box";
import { matchTotpStep } from "./totp";

export const OTP_LOCKOUT: ThrottlePolicy = { maxAttempts: 5, windowSeconds: 15 * 60 };
export const otpThrottleKey = (userId: string) => `otp:${userId}`;

export type FactorInput = { code?: string | undefined; recoveryCode?: string | undefined; password?: string | undefined };

export function methodOf(input: FactorInput): StepUpMethod | null {
  if (input.code !== undefined) return "totp";
  if (input.recoveryCode !== undefined) return "recovery_code";
  if (input.password !== undefined) return "password";
  return null;
}

/** Accepts `step` for the user unless it (or a later step) was accepted before. */
export async function claimTotpStep(c: Context<AppEnv>, userId: string, step: number): Promise<boolean> {
  const result = await c.var.db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))));
  return result.meta.changes === 1;
}

function otpFailure(code: "INVALID_OTP" | "REPLAYED_OTP" | "INVALID_PASSWORD", user: User): ApiError {
  const message =
    code === "REPLAYED_OTP" ? "This code was already used; wait for the next one" : code === "INVALID_PASSWORD" ? "Password is incorrect" : "The code is incorrect";
  return new ApiError(401, code, message, { audit: { tenantId: user.tenantId, targetType: "user", targetId: user.id } });
}

/**
 * Verifies `input` for `user`, or throws 401/429. `totpSecretEnc` overrides the
 * user's enabled secret (used to confirm a pending enrolment).
 */
export async function verifySecondFactor(
  c: Context<AppEnv>,
  user: User,
  input: FactorInput,
  allowed: StepUpMethod[],
  totpSecretEnc: string | null = user.totpSecretEnc,
): Promise<StepUpMethod> {
  const method = methodOf(input);
  if (!method || !allowed.includes(method)) {
    throw new ApiError(400, "METHOD_NOT_ALLOWED", `Verify with one of: ${allowed.join(", ") || "none (enrol two-factor first)"}`, { details: { methods: allowed } });
  }
  const db = c.var.db;
  const now = c.get("now");
  const retryAfterSeconds = await reserveAttempt(db, otpThrottleKey(user.id), OTP_LOCKOUT, now);
  if (retryAfterSeconds !== null) {
    throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many failed attempts; try again later", {
      details: { retryAfterSeconds },
      audit: { tenantId: user.tenantId, targetType: "user", targetId: user.id, failureReason: "LOCKED_OUT" },
    });
  }

  if (method === "totp") {
    if (!totpSecretEnc) throw otpFailure("INVALID_OTP", user);
    const { secret, stale } = await openSecret(c.env, totpSecretEnc, user.id);
    const step = matchTotpStep(secret, input.code ?? "", now);
    if (step === null) throw otpFailure("INVALID_OTP", user);
    if (!(await claimTotpStep(c, user.id, step))) throw otpFailure("REPLAYED_OTP", user);
    // Sealed under a previous key: moved to the current one now that it proved itself.
    const column = totpSecretEnc === user.totpSecretEnc ? "totpSecretEnc" : "totpPendingSecretEnc";
    if (stale) {
      await resealSecret(db, c.env, user.id, column, totpSecretEnc, secret).catch((err: unknown) => {
        // The code was right: a failed re-seal leaves the old ciphertext for the next use or the batch.
        log.error("TOTP secret not re-sealed on use", { userId: user.id, error: errorSummary(err) });
      });
    }
  } else if (method === "recovery_code") {
    if (!(await consumeRecoveryCode(db, user.id, input.recoveryCode ?? "", now))) throw otpFailure("INVALID_OTP", user);
  } else if (!(await verifyPassword(input.password ?? "", user.passwordHash))) {
    throw otpFailure("INVALID_PASSWORD", user);
  }

  await clearAttempts(db, otpThrottleKey(user.id));
  return method;
}
