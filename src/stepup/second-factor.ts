/**
 * Checks a second factor (a passkey, a TOTP code, a recovery code or, where policy allows,
 * the password) for one user, on every path that accepts one: sign-in, step-up
 * verification, TOTP confirmation.
 *
 * Threat model: online guessing (5 attempts per user per 15 minutes across all
 * paths, NIST SP 800-63B-4 §3.2.2 allows up to 100), replay of an observed code
 * (a time step is accepted at most once per user, enforced by a conditional UPDATE
 * so concurrent requests cannot both win), recovery codes used twice, and a passkey's
 * assertion relayed, replayed or signed by someone else's credential (src/passkeys).
 */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Context } from "hono";
import { type User, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import { verifyPassword } from "../lib/password";
import { type ThrottlePolicy, clearAttempts, reserveAttempt } from "../lib/throttle";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { findAsserted, verifyAsserted } from "../passkeys/assertion";
import { PASSKEY_REFUSALS, type PasskeyRefusal, passkeyRefusedError } from "../passkeys/ceremony";
import type { ErrorCode } from "../error-catalogue";
import { STEP_UP_METHODS, type StepUpMethod } from "./policy";
import { consumeRecoveryCode } from "./recovery-codes";
import { resealSecret } from "./reseal";
import { openSecret } from "./secret-box";
import { matchTotpStep } from "./totp";

/** What verifySecondFactor refuses with (a passkey's answer included), as the API document lists it (src/openapi). */
export const SECOND_FACTOR_REFUSALS = [
  "INVALID_OTP",
  "REPLAYED_OTP",
  "INVALID_PASSWORD",
  "PHISHING_RESISTANT_REQUIRED",
  "METHOD_NOT_ALLOWED",
  "TOO_MANY_ATTEMPTS",
  "MFA_UNAVAILABLE",
  ...PASSKEY_REFUSALS,
] as const satisfies readonly ErrorCode[];

export const OTP_LOCKOUT: ThrottlePolicy = { maxAttempts: 5, windowSeconds: 15 * 60 };
export const otpThrottleKey = (userId: string) => `otp:${userId}`;

export type FactorInput = {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  password?: string | undefined;
  passkey?: AuthenticationResponseJSON | undefined;
};

/** Why a factor was refused: the 401's code (a passkey's refusals are ./ceremony.ts's). */
type FactorFailure = "INVALID_OTP" | "REPLAYED_OTP" | "INVALID_PASSWORD" | PasskeyRefusal;

/** What a check may need besides the input: the TOTP secret to check against, the challenge a passkey must answer. */
export type VerifyContext = {
  totpSecretEnc: string | null;
  /** The step-up a passkey's challenge was issued for (its session and purpose). */
  passkeyChallenge: { sessionId: string; purpose: string } | null;
};

/**
 * One way to verify: whether the input chose it (its answer is present), and its check,
 * whose outcome is null (accepted) or why not. Runs inside the shared throttle
 * (verifySecondFactor), never on its own.
 */
type FactorVerifier = {
  chosen(input: FactorInput): boolean;
  verify(c: Context<AppEnv>, user: User, input: FactorInput, context: VerifyContext): Promise<FactorFailure | null>;
};

/** Every method's verifier: a method is added by adding its entry here (the type asks for one per method). */
const VERIFIERS: { readonly [M in StepUpMethod]: FactorVerifier } = {
  passkey: { chosen: (input) => input.passkey !== undefined, verify: verifyPasskey },
  totp: { chosen: (input) => input.code !== undefined, verify: (c, user, input, { totpSecretEnc }) => verifyTotp(c, user, input.code ?? "", totpSecretEnc) },
  recovery_code: {
    chosen: (input) => input.recoveryCode !== undefined,
    verify: async (c, user, input) => ((await consumeRecoveryCode(c.var.db, user.id, input.recoveryCode ?? "", c.get("now"))) ? null : "INVALID_OTP"),
  },
  password: {
    chosen: (input) => input.password !== undefined,
    verify: async (_c, user, input) => ((await verifyPassword(input.password ?? "", user.passwordHash)) ? null : "INVALID_PASSWORD"),
  },
};

/** A passkey of the user answering a challenge issued for this step-up (./routes.ts /options). */
async function verifyPasskey(c: Context<AppEnv>, user: User, input: FactorInput, { passkeyChallenge }: VerifyContext): Promise<FactorFailure | null> {
  if (!input.passkey || !passkeyChallenge) return "PASSKEY_CHALLENGE_MISMATCH";
  const found = await findAsserted(c, input.passkey, { kind: "step-up", userId: user.id, ...passkeyChallenge }, user.id);
  if (!found.ok) return found.refusal;
  const verified = await verifyAsserted(c, found.asserted);
  return verified.ok ? null : verified.refusal;
}

/** The method the input chose: the first, in STEP_UP_METHODS order, whose answer is present. */
export function methodOf(input: FactorInput): StepUpMethod | null {
  return STEP_UP_METHODS.find((method) => VERIFIERS[method].chosen(input)) ?? null;
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

const FAILURE_MESSAGES: Record<"INVALID_OTP" | "REPLAYED_OTP" | "INVALID_PASSWORD", string> = {
  INVALID_OTP: "The code is incorrect",
  REPLAYED_OTP: "This code was already used; wait for the next one",
  INVALID_PASSWORD: "Password is incorrect",
};

function factorFailure(code: FactorFailure, user: User): ApiError {
  const audit = { tenantId: user.tenantId, targetType: "user" as const, targetId: user.id };
  if (!(code in FAILURE_MESSAGES)) return passkeyRefusedError(code as PasskeyRefusal, "assertion", audit);
  return new ApiError(401, code, FAILURE_MESSAGES[code as keyof typeof FAILURE_MESSAGES], { audit });
}

/**
 * The method the input chose, if `allowed` lets it be used here: 403
 * PHISHING_RESISTANT_REQUIRED for another factor where only a passkey is allowed, 400
 * METHOD_NOT_ALLOWED otherwise.
 */
function allowedMethodOf(input: FactorInput, allowed: StepUpMethod[], user: User, passkeyOnly: boolean): StepUpMethod {
  const method = methodOf(input);
  if (passkeyOnly && method !== null && method !== "passkey") {
    throw new ApiError(403, "PHISHING_RESISTANT_REQUIRED", "Your organisation requires a passkey for this; a code is not accepted", {
      details: { methods: allowed },
      audit: { tenantId: user.tenantId, targetType: "user", targetId: user.id, failureReason: "PHISHING_RESISTANT_REQUIRED" },
    });
  }
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

export type VerifyOptions = {
  /** The methods accepted here (methodsFor, ./policy.ts). */
  allowed: StepUpMethod[];
  /** Only a passkey is accepted (./phishing-resistance.ts): another factor is 403, not 400. */
  passkeyOnly?: boolean;
  /** Overrides the user's enabled TOTP secret (to confirm a pending enrolment). */
  totpSecretEnc?: string | null;
  passkeyChallenge?: VerifyContext["passkeyChallenge"];
};

/**
 * Verifies `input` for `user`, or throws 401/403/429. Every method runs inside the one
 * throttle (withFactorAttempt): an attempt is reserved before the check and the count
 * cleared only once it succeeds.
 */
export async function verifySecondFactor(c: Context<AppEnv>, user: User, input: FactorInput, options: VerifyOptions): Promise<StepUpMethod> {
  const method = allowedMethodOf(input, options.allowed, user, options.passkeyOnly ?? false);
  const context: VerifyContext = { totpSecretEnc: options.totpSecretEnc === undefined ? user.totpSecretEnc : options.totpSecretEnc, passkeyChallenge: options.passkeyChallenge ?? null };
  const outcome = await withFactorAttempt(c, user, async () => {
    const failure = await VERIFIERS[method].verify(c, user, input, context);
    return failure ? { ok: false as const, failure } : { ok: true as const };
  });
  if (!outcome.ok) throw factorFailure(outcome.failure, user);
  return method;
}

/**
 * Runs `check` as one attempt against the user's shared lockout (every factor, on every
 * path, passkey sign-in included): reserved before (429 once spent), cleared when the
 * check's outcome is ok.
 */
export async function withFactorAttempt<T extends { ok: boolean }>(c: Context<AppEnv>, user: User, check: () => Promise<T>): Promise<T> {
  await reserveFactorAttempt(c, user);
  const outcome = await check();
  if (outcome.ok) await clearAttempts(c.var.db, otpThrottleKey(user.id));
  return outcome;
}
