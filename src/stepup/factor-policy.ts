/**
 * Whether a user may remove one of their own second factors: the tenant's policy decides.
 * Removing the last second factor of a member of a tenant that requires two-factor is
 * refused, and so is removing the last passkey of a user whom the phishing-resistance
 * policy covers (they would be locked out of what it guards). An admin's MFA reset is not
 * this: it removes every factor on purpose, and the member enrols again.
 */
import type { Context } from "hono";
import type { User } from "../db/schema";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { passkeyRequired } from "./phishing-resistance";
import { STEP_UP_POLICIES } from "./policy";

export async function assertMayRemoveFactor(c: Context<AppEnv>, user: User, factor: "totp" | "passkey"): Promise<void> {
  const after = { totp: user.totpEnabled && factor !== "totp", passkeys: user.passkeyCount - (factor === "passkey" ? 1 : 0) };
  const policy = await loadTenantPolicy(c, user.tenantId);
  const audit = { targetType: "user" as const, targetId: user.id, failureReason: "REQUIRED_BY_POLICY" };
  if (policy.requireTwoFactor && !after.totp && after.passkeys === 0) {
    throw new ApiError(409, "LAST_FACTOR_REQUIRED", "Your organisation requires two-factor authentication: add another factor before removing this one", { audit });
  }
  // Covered by the policy for its admin actions (the strictest purpose it can touch).
  const covered = passkeyRequired(policy.requirePhishingResistant, STEP_UP_POLICIES.FORCE_LOGOUT, { ...user, passkeyCount: 1 });
  if (factor === "passkey" && after.passkeys === 0 && covered) {
    throw new ApiError(409, "LAST_FACTOR_REQUIRED", "Your organisation requires a passkey: add another before removing this one", { audit });
  }
}
