/**
 * requireSso: a tenant whose connection requires it signs its members in through its
 * identity provider only. This is the rule's one owner; sign-in's "may they" step
 * (admitSignIn, src/auth/sign-in.ts) applies it to every way in, once the credential was
 * found right, so nothing before that point branches on it (test/sign-in-equal-work.test.ts).
 * The flag is read from the tenant's policy in its edge document (src/edge-document/), not
 * from D1 on each sign-in; only when it is on, the member's email domain is looked up (it
 * binds only the members its provider can sign in: providerCovers).
 *
 * A password or passkey sign-in of such a tenant's member is 403 SSO_REQUIRED with the URL
 * that starts the provider's sign-in. Owners keep a break-glass way in, so a provider that
 * is down or misconfigured cannot lock the tenant out: a passkey, or their password with
 * their second factor (the second-factor step asks for it: an owner without one has no
 * break-glass way in). Such a sign-in is audited with `metadata.breakGlass: true`.
 *
 * Threat model: a password phished or leaked outside the provider's controls (its MFA,
 * its device checks, its offboarding) keeps working after the organisation moved to SSO.
 * Out of scope here: sessions started before requireSso was turned on (they run to their
 * end). An invitation accepted under the requirement makes the member and sends them to the
 * provider, with no password session (ssoRequiredFor, src/auth/accept-invitation.ts).
 */
import type { Context } from "hono";
import type { User } from "../db/schema";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hasSecondFactor } from "../stepup/policy";
import type { WayIn } from "../auth/sign-in";
import { failClosed } from "../lib/fail-closed";
import { connectionForDomain, emailDomain } from "./store";
import { ssoStartUrl } from "./urls";

type Way = WayIn["kind"];

/**
 * Whether the tenant's provider can sign `user` in at all: their email's domain is one of
 * its connection's. A member of another domain (a contractor's address, say) keeps their
 * password and passkeys: the provider would refuse them (SSO_DOMAIN_MISMATCH), so the
 * requirement would lock them out. Read only when the tenant requires SSO, after the
 * credential was right; D1 unavailable is 503.
 */
const providerCovers = (c: Context<AppEnv>, user: User) =>
  failClosed("single sign-on domains", async () => (await connectionForDomain(c.var.db, emailDomain(user.email)))?.tenantId === user.tenantId);

/** The rule, as a value: may `user` come in by `way`, and is that an owner's break-glass? */
async function ssoVerdict(c: Context<AppEnv>, user: User, way: Way): Promise<"allowed" | "break-glass" | "sso-required"> {
  if (way === "sso" || !(await loadTenantPolicy(c, user.tenantId)).requireSso) return "allowed";
  if (!(await providerCovers(c, user))) return "allowed";
  return user.role === "owner" && hasSecondFactor(user) ? "break-glass" : "sso-required";
}

/** Whether `user` must come in through the provider instead of by `way` (an accepted invitation asks, src/auth/accept-invitation.ts). */
export async function ssoRequiredFor(c: Context<AppEnv>, user: User, way: Way): Promise<boolean> {
  return (await ssoVerdict(c, user, way)) === "sso-required";
}

/** May `user` sign in by `way` (the credential was right)? Throws 403 SSO_REQUIRED if not; `breakGlass` when an owner passes around the requirement. */
export async function assertSsoAllows(c: Context<AppEnv>, user: User, way: Way): Promise<{ breakGlass: boolean }> {
  const verdict = await ssoVerdict(c, user, way);
  if (verdict !== "sso-required") return { breakGlass: verdict === "break-glass" };
  throw new ApiError(403, "SSO_REQUIRED", "Your organisation requires single sign-on: sign in through its identity provider", {
    details: { startUrl: ssoStartUrl(c.env, user.email) },
    audit: { tenantId: user.tenantId, actorUserId: user.id, targetType: "user", targetId: user.id, failureReason: "SSO_REQUIRED", metadata: { method: way } },
  });
}
