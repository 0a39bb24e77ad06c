/**
 * The tenant's phishing-resistance policy (`requirePhishingResistant`), decided here and
 * nowhere else: for a user and a step-up purpose, must the factor be a passkey?
 *
 * - "off": no.
 * - "admins": for users who may change the tenant's security settings
 *   (SETTINGS_SECURITY_EDIT), on every purpose that needs a second factor only (force
 *   logout, another's session, IP rules, impersonation, role, access, MFA reset, password
 *   reset, the policy itself, and the product's second-factor-only purposes).
 * - "everyone": every purpose, every user.
 *
 * Purposes that manage factors (MFA_ENROLL, MFA_CHANGE) accept the user's other factors
 * until they have a passkey: that is how anyone moves to passkeys. Once they have one,
 * only a passkey changes their factors, so a relayed TOTP code cannot add a second
 * passkey, the attacker's, or remove the victim's.
 *
 * Threat model: an adversary-in-the-middle proxy relays a password and a TOTP code in
 * real time and keeps the session cookie; with this policy the session alone cannot
 * earn a grant for an admin action, since a passkey signs the real origin and the proxy's
 * origin is refused (src/passkeys/ceremony.ts).
 */
import type { Context } from "hono";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import type { AppEnv } from "../env";
import { hasPermission, type Principal } from "../lib/permissions";
import type { PhishingResistantScope } from "../tenant/policy-vocabulary";
import { type FactorHolder, type StepUpMethod, type StepUpPolicy, methodsFor, stepUpChallengeOf } from "./policy";

type StepUpUser = FactorHolder & Principal & { tenantId: string };

export function passkeyRequired(scope: PhishingResistantScope, policy: StepUpPolicy, user: FactorHolder & Principal): boolean {
  if (scope === "off") return false;
  if (scope === "admins" && !hasPermission(user, "SETTINGS_SECURITY_EDIT")) return false;
  if (policy.managesFactors) return user.passkeyCount > 0;
  return scope === "everyone" || policy.secondFactorOnly;
}

/**
 * What a step-up for `purpose` accepts from `user` under their tenant's policy (read from
 * the tenant's edge document, no D1): the methods, and whether only a passkey counts.
 */
export async function stepUpRequirement(c: Context<AppEnv>, policy: StepUpPolicy, user: StepUpUser): Promise<{ methods: StepUpMethod[]; passkeyOnly: boolean }> {
  const scope = (await loadTenantPolicy(c, user.tenantId)).requirePhishingResistant;
  const passkeyOnly = passkeyRequired(scope, policy, user);
  return { methods: methodsFor(policy, user, passkeyOnly), passkeyOnly };
}

/** The challenge a 428 (and the step-up page) shows `user` for `purpose`, under their tenant's policy. */
export async function stepUpChallengeFor(c: Context<AppEnv>, purpose: string, policy: StepUpPolicy & { label?: string }, user: StepUpUser) {
  const { passkeyOnly } = await stepUpRequirement(c, policy, user);
  return stepUpChallengeOf(purpose, policy, user, passkeyOnly);
}
