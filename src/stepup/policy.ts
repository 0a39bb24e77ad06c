/**
 * Step-up policy: which purposes exist, how long a grant lasts, whether one grant
 * covers one action or a window of them, and which methods may earn it.
 *
 * Admin purposes accept only a second factor: a user without TOTP is told to enrol
 * (no silent downgrade to the password they just typed to sign in). Self-service
 * purposes accept the password when there is no TOTP, so anyone can still cut off a
 * stolen session.
 *
 * Enrolling a first factor (MFA_ENROLL) needs a fresh password proof: a stolen session
 * cookie alone must not be able to add a factor that would then pass every admin
 * step-up. Replacing an enabled factor is MFA_CHANGE (second factor only).
 * Revoking one's own session is self-service (REVOKE_SESSION); revoking another
 * user's is an admin action (REVOKE_USER_SESSION, second factor only).
 *
 * Impersonation: each purpose says whether it may be earned and claimed while the session
 * impersonates (allowWhileImpersonating). Of Gatehouse's own, only IMPERSONATION, which
 * exiting needs; every other action a Gatehouse purpose guards is refused while
 * impersonating by its route (forbidWhileImpersonating, src/impersonation/middleware.ts),
 * and test/impersonation-routes.test.ts walks the route table to hold the two together.
 */
export const STEP_UP_PURPOSES = [
  "REVOKE_SESSION",
  "REVOKE_USER_SESSION",
  "REVOKE_ALL_OTHER_SESSIONS",
  "FORCE_LOGOUT",
  "MFA_ENROLL",
  "MFA_CHANGE",
  "IP_RULE_CHANGE",
  "IMPERSONATION",
  "ROLE_CHANGE",
  "USER_ACCESS_CHANGE",
  "MFA_RESET",
  "PASSWORD_RESET",
  "TENANT_POLICY_CHANGE",
  "PASSWORD_CHANGE",
  "SSO_CHANGE",
  "AUDIT_STREAM_CHANGE",
] as const;
export type StepUpPurpose = (typeof STEP_UP_PURPOSES)[number];

/** Every method, strongest first: a challenge lists the ones it accepts in this order. */
export const STEP_UP_METHODS = ["passkey", "totp", "recovery_code", "password"] as const;
export type StepUpMethod = (typeof STEP_UP_METHODS)[number];

export type StepUpPolicy = {
  windowSeconds: number;
  singleUse: boolean;
  /** Admin purposes never accept a password. */
  secondFactorOnly: boolean;
  /**
   * May it be earned (with the real admin's own factor) and claimed while the session
   * impersonates? Absent means no (allowedWhileImpersonating).
   */
  allowWhileImpersonating?: boolean | undefined;
  /**
   * Adds, replaces or removes a factor: under a policy requiring passkeys it accepts the
   * user's other factors until they have a passkey (src/stepup/phishing-resistance.ts).
   */
  managesFactors?: boolean | undefined;
};

// A 10-minute re-verification window by default (OWASP ASVS 4.0 V3.7.1
// asks for re-authentication before sensitive transactions).
const TEN_MINUTES = 10 * 60;

/** Gatehouse's own purposes: each states whether it may be used while impersonating. */
export const STEP_UP_POLICIES: Record<StepUpPurpose, StepUpPolicy & { allowWhileImpersonating: boolean }> = {
  REVOKE_SESSION: { windowSeconds: TEN_MINUTES, singleUse: false, secondFactorOnly: false, allowWhileImpersonating: false },
  REVOKE_USER_SESSION: { windowSeconds: TEN_MINUTES, singleUse: false, secondFactorOnly: true, allowWhileImpersonating: false },
  REVOKE_ALL_OTHER_SESSIONS: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: false },
  FORCE_LOGOUT: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // Single use: a second enrolment (which would replace the pending secret) needs a new proof.
  MFA_ENROLL: { windowSeconds: 5 * 60, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: false, managesFactors: true },
  MFA_CHANGE: { windowSeconds: 5 * 60, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false, managesFactors: true },
  IP_RULE_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: false, secondFactorOnly: true, allowWhileImpersonating: false },
  // Starts an impersonation and, within its window, ends it: exiting is verified while impersonating
  // (starting another is refused by its route).
  IMPERSONATION: { windowSeconds: TEN_MINUTES, singleUse: false, secondFactorOnly: true, allowWhileImpersonating: true },
  ROLE_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // Disable, enable or remove a member (admin).
  USER_ACCESS_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // Remove another user's second factor (admin): one proof per reset.
  MFA_RESET: { windowSeconds: 5 * 60, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // Issue a reset link for another user's password (admin).
  PASSWORD_RESET: { windowSeconds: 5 * 60, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // The tenant's policy (owner).
  TENANT_POLICY_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // Change one's own password: self-service (the password when there is no TOTP).
  PASSWORD_CHANGE: { windowSeconds: 5 * 60, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: false },
  // The tenant's single sign-on connection and its SCIM token (owner).
  SSO_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
  // The tenant's audit stream to its SIEM: save, pause, resume, replay, remove (owner).
  AUDIT_STREAM_CHANGE: { windowSeconds: TEN_MINUTES, singleUse: true, secondFactorOnly: true, allowWhileImpersonating: false },
};

/**
 * A step-up purpose of the product behind Gatehouse (PRODUCT_STEP_UP_PURPOSES, validated
 * at startup by src/stepup/product-purposes.ts): the same policy fields, a name that never
 * collides with Gatehouse's own, and a label the panel's dialog shows ("delete a note").
 */
export type ProductStepUpPolicy = StepUpPolicy & { name: string; label: string };

/**
 * Whether a purpose may be earned and claimed while the session impersonates: as its
 * policy declares, no when it says nothing. Read by the verify route (src/stepup/routes.ts)
 * and the grant's claim (claimStepUpGrant).
 */
export function allowedWhileImpersonating(policy: StepUpPolicy): boolean {
  return policy.allowWhileImpersonating === true;
}

/**
 * The declared product purpose named `name`; null for any other name, Gatehouse's own
 * included. The one answer to "is this a purpose of the product?" for everything the
 * product can ask for: the RPC's requireStepUp (src/rpc/app.ts), STEP_UP_ROUTES
 * (src/gateway/step-up-routes.ts) and the frameable step-up page's challenge
 * (src/stepup/routes.ts). So the product can neither claim a grant the panel earned for
 * one of Gatehouse's purposes nor be satisfied by one.
 */
export function declaredProductPurpose(productPurposes: readonly ProductStepUpPolicy[], name: string): ProductStepUpPolicy | null {
  return productPurposes.find((p) => p.name === name) ?? null;
}

/** A purpose's policy: Gatehouse's own, or one of the product's; null for an unknown name. */
export function stepUpPolicyOf(purpose: string, productPurposes: readonly ProductStepUpPolicy[]): (StepUpPolicy & { label?: string }) | null {
  if (Object.hasOwn(STEP_UP_POLICIES, purpose)) return STEP_UP_POLICIES[purpose as StepUpPurpose];
  return declaredProductPurpose(productPurposes, purpose);
}

/** The second factors a user has: a user row, or the user as the session state keeps it. */
export type FactorHolder = { totpEnabled: boolean; passkeyCount: number };

/** Whether the user has a second factor (TOTP or a passkey): the one answer, for every path that asks. */
export const hasSecondFactor = (user: FactorHolder): boolean => user.totpEnabled || user.passkeyCount > 0;

/**
 * The methods this user may use for this purpose, strongest first: empty means "enrol
 * first". `passkeyOnly` (the tenant requires a phishing-resistant factor here,
 * src/stepup/phishing-resistance.ts) leaves a passkey alone.
 */
export function methodsFor(purpose: StepUpPurpose | StepUpPolicy, user: FactorHolder, passkeyOnly = false): StepUpMethod[] {
  const hasPasskey = user.passkeyCount > 0;
  if (passkeyOnly) return hasPasskey ? ["passkey"] : [];
  if (hasSecondFactor(user)) return STEP_UP_METHODS.filter((m) => (m === "passkey" ? hasPasskey : m === "totp" ? user.totpEnabled : m === "recovery_code"));
  const policy = typeof purpose === "string" ? STEP_UP_POLICIES[purpose] : purpose;
  return policy.secondFactorOnly ? [] : ["password"];
}

/** What a step-up challenge tells the client (the 428's details, the panel's step-up page): one shape for both. */
export function stepUpChallengeOf(purpose: string, policy: StepUpPolicy & { label?: string }, user: FactorHolder, passkeyOnly = false) {
  const methods = methodsFor(policy, user, passkeyOnly);
  return {
    purpose,
    methods,
    ...(methods.length === 0 ? { enrollmentRequired: true as const } : {}),
    ...(passkeyOnly ? { phishingResistantRequired: true as const } : {}),
    ...(policy.label ? { label: policy.label } : {}),
  };
}
