/**
 * Signing in, as named steps. A way in (a password, a passkey, or the tenant's identity
 * provider: src/sso/sign-in-routes.ts) is a route that says how the person proves who
 * they are (a WayIn) and then calls these steps in this order, so every way in meets the
 * same rules:
 *
 *   1. Who is this: identifySignIn (./sign-in-subject.ts) names a current member, or
 *      NOBODY, whom every step until the credential is found right treats alike.
 *   2. May they: admitSignIn owns the checks after "who is this". It counts the attempt
 *      (./throttle.ts), only then has the way in check its credential, applies the
 *      tenant's IP rules whatever the credential was, refuses a wrong credential
 *      (./sign-in-refusal.ts), refuses a disabled member, and applies the tenant's
 *      requireSso (src/sso/require-sso.ts). It returns the member.
 *   3. Second factor: secondFactor asks for one when the member has one, verifies it
 *      (src/stepup/second-factor.ts), and returns which method was used, the session's
 *      `amr` (amrOf: the one place it is derived, from the way in and the factor) and
 *      whether the tenant's policy sends a member without one to enrol.
 *   4. Start session: startSignedInSession starts it through startSession
 *      (./start-session.ts), which owns what holds for every new session, a disabled
 *      tenant's refusal included, with the success rows and the throttle reset in its
 *      batch; then it renews the device cookie. The route answers from what it returns.
 *
 * Threat model: password guessing and lockout of a victim by failing on purpose (the
 * attempt is counted before the credential is checked, so parallel guesses cannot
 * overshoot); user enumeration (until the credential is found right, no step branches on
 * whether the email is known or does more work for one than the other:
 * test/sign-in-equal-work.test.ts); a blocked address learning whether a password was
 * right (the IP rules refuse before the credential's result is acted on); a session
 * without the factors the member has (no session starts before the second factor is
 * verified, and `amr` names only the factors presented).
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { User } from "../db/schema";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { assertIpAllowed } from "../ip-rules";
import type { ImportedKeySet } from "../lib/key-set";
import { verifyPassword } from "../lib/password";
import { type StepUpMethod, hasSecondFactor, methodsFor } from "../stepup/policy";
import { verifySecondFactor } from "../stepup/second-factor";
import { deviceCookieKeys, issueDevice, readDevice } from "./device";
import type { PasskeyRefusal } from "../passkeys/ceremony";
import { assertSsoAllows } from "../sso/require-sso";
import { refuseSignIn } from "./sign-in-refusal";
import type { SignInSubject } from "./sign-in-subject";
import { startSession } from "./start-session";
import { clearSignInAttempts, reserveAddressAttempt, reserveSignIn } from "./throttle";

/**
 * A sign-in by the tenant's identity provider (src/sso): the session records the
 * connection and the provider's `sub` and `sid` (a back-channel logout names them), and
 * the session's batch links the identity (and creates the member, when the connection
 * provisions one).
 */
export type Federation = { connectionId: string; subject: string; sid: string | null; changes: BatchItem<"sqlite">[]; provisioned: boolean };

/** What a way in's credential check found: wrong, or right with the `amr` values it proves (RFC 8176). */
export type CredentialOutcome = { ok: false; passkey?: PasskeyRefusal } | { ok: true; amr: readonly string[]; federation?: Federation };

/** How a person proves who they are: a password, a passkey (./passkey-sign-in.ts), the tenant's identity provider (src/sso/way-in.ts). */
export type WayIn = {
  kind: "password" | "passkey" | "sso";
  /** The email the attempt names: the throttles count it, and the device cookie is bound to it. */
  email: string;
  /** This deployment's device cookie keys, and this browser's device id for the email (null: none valid). */
  device: { keys: ImportedKeySet; id: string | null };
  /** Checks the credential against the subject; admitSignIn calls it once the attempt is counted. */
  checkCredential: (subject: SignInSubject) => Promise<CredentialOutcome>;
  /**
   * The IP rules are applied before the credential is checked: a way in whose check spends
   * something of the member's (a passkey's counts against their factor lockout) must not
   * let a blocked address spend it. A password's check spends nothing, and is checked first
   * so that the work is the same for any email (./sign-in-subject.ts).
   */
  addressFirst: boolean;
};

/** The password way in: the device cookie this browser holds for the email, and the password to check. */
export async function passwordWayIn(c: Context<AppEnv>, email: string, password: string): Promise<WayIn> {
  const keys = await deviceCookieKeys(c.env);
  return {
    kind: "password",
    email,
    device: { keys, id: await readDevice(c, keys, email) },
    // NOBODY's hash is DUMMY_PASSWORD_HASH: the same PBKDF2 work.
    checkCredential: async (subject) => ((await verifyPassword(password, subject.passwordHash)) ? { ok: true, amr: ["pwd"] } : { ok: false }),
    addressFirst: false,
  };
}

const knownUser = (user: User) => ({ tenantId: user.tenantId, actorUserId: user.id, targetId: user.id });

/** A member the way in admitted, and what their credential proved. */
export type Admitted = {
  user: User;
  credential: { amr: readonly string[]; federation?: Federation | undefined };
  way: WayIn;
  /** An owner signing in around the tenant's requireSso (src/sso/require-sso.ts). */
  breakGlass: boolean;
};

/** May they: the throttles, the credential, the IP rules, a disabled member, the tenant's requireSso. Returns the member or throws the refusal. */
export async function admitSignIn(c: Context<AppEnv>, subject: SignInSubject, way: WayIn): Promise<Admitted> {
  // Counted before the credential is checked, so parallel guesses cannot overshoot. A
  // provider's signed, single-use answer cannot be guessed: it counts against the
  // address's limit only, so nobody can lock a member out of their provider's sign-in by
  // failing passwords in their name.
  const throttled = way.kind === "sso" ? await reserveAddressAttempt(c) : await reserveSignIn(c, way.email, way.device.id);
  if (throttled) throw refuseSignIn(c, subject, { kind: "throttled", throttle: throttled });

  // The tenant's IP rules bind sign-in too. They are applied whatever the credential, so
  // a blocked address never learns whether it was right (it does learn that the email
  // belongs to a tenant that restricts addresses); NOBODY's tenant has none.
  if (way.addressFirst) await assertIpAllowed(c, subject.tenantId, subject.userId);
  const credential = await way.checkCredential(subject);
  if (!way.addressFirst) await assertIpAllowed(c, subject.tenantId, subject.userId);
  const user = subject.user;
  if (!user || !credential.ok) throw refuseSignIn(c, subject, { kind: "wrong-credentials", passkey: credential.ok ? undefined : credential.passkey });
  // Only once the credential was right: a disabled member is told so, a guesser learns nothing.
  if (user.disabledAt !== null) {
    throw new ApiError(403, "USER_DISABLED", "Your account has been disabled; ask an administrator of your organisation", { audit: { ...knownUser(user), failureReason: "USER_DISABLED" } });
  }
  // The tenant signs its members in through its identity provider only (owners keep a break-glass way in).
  const { breakGlass } = await assertSsoAllows(c, user, way.kind);
  return { user, credential: { amr: credential.amr, federation: credential.federation }, way, breakGlass };
}

/** The second factors sign-in accepts after a password. */
const SIGN_IN_FACTORS = ["totp", "recovery_code"] as const satisfies readonly StepUpMethod[];
export type SignInFactor = (typeof SIGN_IN_FACTORS)[number];
const isSignInFactor = (method: StepUpMethod): method is SignInFactor => (SIGN_IN_FACTORS as readonly StepUpMethod[]).includes(method);

// RFC 8176 values each second factor adds before "mfa" (a recovery code is some second factor, nothing more specific).
const FACTOR_AMR: Record<SignInFactor, readonly string[]> = { totp: ["otp"], recovery_code: [] };

/**
 * How the member authenticated, as the session records it (RFC 8176): what the credential
 * proved (the way in's values), then the second factor's and "mfa". A credential that
 * proves two factors itself (a passkey: "mfa" among its values) takes no second factor.
 */
export function amrOf(credential: readonly string[], factor: SignInFactor | null): string[] {
  return factor === null ? [...credential] : [...credential, ...FACTOR_AMR[factor], "mfa"];
}

export type SecondFactorInput = { totpCode?: string | undefined; recoveryCode?: string | undefined };

export type SecondFactorOutcome = {
  /** The second factor presented and verified; null when the member has none, or the credential was two. */
  method: SignInFactor | null;
  amr: string[];
  /** The tenant requires two-factor and the member has none: the answer sends them to enrol. */
  enrolmentRequired: boolean;
};

/** What a member who has a second factor may finish a password sign-in with, and may use instead (a passkey). */
function signInMethodsOf(user: User): StepUpMethod[] {
  return methodsFor("MFA_CHANGE", user).filter((m) => m !== "password");
}

/**
 * Second factor: verifies the member's, when they have one and the credential was one
 * factor (401/429 otherwise), and derives `amr`. A sign-in by the tenant's identity
 * provider asks for none: the provider signed the member in, by its own factors (its
 * `amr`); Gatehouse's own factors stay for step-up, and the enrolment gate still applies.
 */
export async function secondFactor(c: Context<AppEnv>, admitted: Admitted, input: SecondFactorInput): Promise<SecondFactorOutcome> {
  const { user, credential } = admitted;
  let method: SignInFactor | null = null;
  if (admitted.way.kind !== "sso" && !credential.amr.includes("mfa") && hasSecondFactor(user)) {
    const methods = signInMethodsOf(user);
    if (input.totpCode === undefined && input.recoveryCode === undefined) {
      // The client must now ask for the factor, but the credential was right: that is worth
      // a row (credential stuffing that found a password must leave a trace).
      const [code, message] = user.totpEnabled
        ? (["TOTP_REQUIRED", "Enter the code from your authenticator app"] as const)
        : (["SECOND_FACTOR_REQUIRED", "Sign in with your passkey, or enter a recovery code"] as const);
      throw new ApiError(401, code, message, { details: { methods }, audit: { ...knownUser(user), failureReason: "SECOND_FACTOR_REQUIRED" } });
    }
    const allowed = methods.filter(isSignInFactor);
    const verified = await verifySecondFactor(c, user, { code: input.totpCode, recoveryCode: input.recoveryCode }, { allowed });
    // verifySecondFactor refuses (400) any method it was not allowed.
    if (!isSignInFactor(verified)) throw new Error(`sign-in verified a ${verified}`);
    method = verified;
  }
  // A tenant requiring two-factor sends a member without one straight to enrolment
  // (the panel reads this; every other route refuses them until then, src/tenant/enrolment-gate.ts).
  const enrolmentRequired = !hasSecondFactor(user) && (await loadTenantPolicy(c, user.tenantId)).requireTwoFactor;
  return { method, amr: amrOf(credential.amr, method), enrolmentRequired };
}

/** Start session: the session, its success rows and the throttle reset in one batch, then the device cookie. */
export async function startSignedInSession(c: Context<AppEnv>, { user, way, credential, breakGlass }: Admitted, factor: SecondFactorOutcome) {
  const actor = { tenantId: user.tenantId, actorUserId: user.id };
  const federation = credential.federation;
  const started = await startSession(c, user, {
    amr: factor.amr,
    changes: [...(federation?.changes ?? []), ...clearSignInAttempts(c, way.email, way.device.id)],
    sso: federation ? { connectionId: federation.connectionId, subject: federation.subject, sid: federation.sid } : null,
    eventsBefore: [
      {
        ...actor,
        action: "LOGIN_SUCCEEDED",
        outcome: "SUCCESS",
        targetType: "user",
        targetId: user.id,
        // A passkey is both factors: secondFactor says whether the session has two ("mfa").
        metadata: {
          method: way.kind,
          secondFactor: factor.amr.includes("mfa"),
          knownDevice: way.device.id !== null,
          ...(federation ? { ssoConnectionId: federation.connectionId, provisioned: federation.provisioned } : {}),
          ...(breakGlass ? { breakGlass: true } : {}),
        },
      },
    ],
    eventsAfter:
      factor.method === "recovery_code"
        ? [{ ...actor, action: "MFA_RECOVERY_CODE_USED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { path: "sign-in" } }]
        : [],
  });
  await issueDevice(c, way.device.keys, way.email, way.device.id);
  return started;
}
