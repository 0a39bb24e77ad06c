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
import { STEP_UP_METHODS, type StepUpMethod } from "./policy";
import { consumeRecoveryCode } from "./recovery-codes";
import { resealSecret } from "./reseal";
import { openSecret } from "./secret-box";
import { matchTotpStep } from "./totp";

export const OTP_LOCKOUT: ThrottlePolicy = { maxAttempts: 5, windowSeconds: 15 * 60 };
export const otpThrottleKey = (userId: string) => `otp:${userId}`;

export type FactorInput = { code?: string | undefined; recoveryCode?: string | undefined; password?: string | undefined };

/** Why a factor was refused: the 401's code (its message is in FAILURE_MESSAGES). */
type FactorFailure = "INVALID_OTP" | "REPLAYED_OTP" | "INVALID_PASSWORD";

/**
 * One way to verify: the answer it reads from the input (present means the request chose
 * this method), and its check of that answer, whose outcome is null (accepted) or why not.
 * Runs inside the shared throttle (verifySecondFactor), never on its own.
 */
type FactorVerifier = {
  answer(input: FactorInput): string | undefined;
  verify(c: Context<AppEnv>, user: User, answer: string, options: { totpSecretEnc: string | null }): Promise<FactorFailure | null>;
};

/** Every method's verifier: a method is added by adding its entry here (the type asks for one per method). */
const VERIFIERS: { readonly [M in StepUpMethod]: FactorVerifier } = {
  totp: { answer: (input) => input.code, verify: (c, user, answer, { totpSecretEnc }) => verifyTotp(c, user, answer, totpSecretEnc) },
  recovery_code: {
    answer: (input) => input.recoveryCode,
    verify: async (c, user, answer) => ((await consumeRecoveryCode(c.var.db, user.id, answer, c.get("now"))) ? null : "INVALID_OTP"),
  },
  password: { answer: (input) => input.password, verify: async (_c, user, answer) => ((await verifyPassword(answer, user.passwordHash)) ? null : "INVALID_PASSWORD") },
};

/** The method the input chose: the first, in STEP_UP_METHODS order, whose answer is present. */
export function methodOf(input: FactorInput): StepUpMethod | null {
  return STEP_UP_METHODS.find((method) => VERIFIERS[method].answer(input) !== undefined) ?? null;
}

/** Accepts `step` for the user unless it (or a later step) was accepted before. */
export async function claimTotpStep(c: Context<AppEnv>, userId: string, step: number): Promise<boolean> {
  const result = await c.var.db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))));
  return result.meta.changes === 1;
}

/** A code of `totpSecretEnc`'s secret, for a time step not accepted before. */
async function verifyTotp(c: Context<AppEnv>, user: User, code: string, totpSecretEnc: string | null): Promise<FactorFailure | null> {
  if (!totpSecretEnc) return "INVALID_OTP";
  const { secret, stale } = await openSecret(c.env, totpSecretEnc, user.id);
  const step = matchTotpStep(secret, code, c.get("now"));
  if (step === null) return "INVALID_OTP";
  if (!(await claimTotpStep(c, user.id, step))) return "REPLAYED_OTP";
  // The enabled secret, sealed under a previous key: moved to the current one now that it
  // proved itself. A pending secret is left to the batch (src/stepup/reseal.ts): the
  // enrolment's confirmation compares against the ciphertext it read, and re-sealing it
  // here would make that compare fail as if the enrolment had been restarted.
  if (stale && totpSecretEnc === user.totpSecretEnc) {
    await resealSecret(c.var.db, c.env, user.id, "totpSecretEnc", totpSecretEnc, secret).catch((err: unknown) => {
      // The code was right: a failed re-seal leaves the old ciphertext for the next use or the batch.
      log.error("TOTP secret not re-sealed on use", { userId: user.id, error: errorSummary(err) });
    });
  }
  return null;
}

const FAILURE_MESSAGES: Record<FactorFailure, string> = {
  INVALID_OTP: "The code is incorrect",
  REPLAYED_OTP: "This code was already used; wait for the next one",
  INVALID_PASSWORD: "Password is incorrect",
};

function factorFailure(code: FactorFailure, user: User): ApiError {
  return new ApiError(401, code, FAILURE_MESSAGES[code], { audit: { tenantId: user.tenantId, targetType: "user", targetId: user.id } });
}

/** The method the input chose, if `allowed` lets it be used here; 400 METHOD_NOT_ALLOWED otherwise. */
function allowedMethodOf(input: FactorInput, allowed: StepUpMethod[]): StepUpMethod {
  const method = methodOf(input);
  if (!method || !allowed.includes(method)) {
    throw new ApiError(400, "METHOD_NOT_ALLOWED", `Verify with one of: ${allowed.join(", ") || "none (enrol two-factor first)"}`, { details: { methods: allowed } });
  }
  return method;
}

/** Counts one attempt against the user's shared lockout before any factor is checked; 429 once it is spent. */
async function reserveFactorAttempt(c: Context<AppEnv>, user: User): Promise<void> {
  const retryAfterSeconds = await reserveAttempt(c.var.db, otpThrottleKey(user.id), OTP_LOCKOUT, c.get("now"));
  if (retryAfterSeconds !== null) {
    throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many failed attempts; try again later", {
      details: { retryAfterSeconds },
      audit: { tenantId: user.tenantId, targetType: "user", targetId: user.id, failureReason: "LOCKED_OUT" },
    });
  }
}

/**
 * Verifies `input` for `user`, or throws 401/429. `totpSecretEnc` overrides the
 * user's enabled secret (used to confirm a pending enrolment). Every method runs inside
 * the one throttle: an attempt is reserved before the check and the count cleared only
 * once it succeeds.
 */
export async function verifySecondFactor(
  c: Context<AppEnv>,
  user: User,
  input: FactorInput,
  allowed: StepUpMethod[],
  totpSecretEnc: string | null = user.totpSecretEnc,
): Promise<StepUpMethod> {
  const method = allowedMethodOf(input, allowed);
  await reserveFactorAttempt(c, user);
  const verifier = VERIFIERS[method];
  const failure = await verifier.verify(c, user, verifier.answer(input) ?? "", { totpSecretEnc });
  if (failure) throw factorFailure(failure, user);
  await clearAttempts(c.var.db, otpThrottleKey(user.id));
  return method;
}
