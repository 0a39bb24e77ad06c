/**
 * The required-two-factor gate: in a tenant whose policy requires two-factor, a user
 * without a second factor (TOTP or a passkey) may use only what enrolment needs until
 * they have enrolled one. Every other
 * API route answers 403 MFA_ENROLLMENT_REQUIRED. Mounted once on the API, right after
 * the edge check, so no route can forget it (a test walks the route table).
 *
 * The same rule binds the product: the gateway's own gate, mounted right after its edge
 * check (productEnrolmentGate, src/gateway/routes.ts), refuses a product request (a page
 * load is sent to enrolment; a public path is served anonymously), and the RPC
 * `authenticate` answers the same 403 through assertEnrolledWhereRequired. All of them
 * ask enrolmentRequired, the rule's one owner.
 *
 * The policy comes from the tenant's edge document (src/edge-document/rules-and-policy.ts),
 * the copy the edge check has just read: no D1 query on a hot request. The real user counts:
 * an admin impersonating a member is judged by the admin's own factor.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import { hasSecondFactor } from "../stepup/policy";

/** Reachable before enrolment (method and path under the API prefix). Sign-out is an auth route, before the gate. */
export const ALLOWED_BEFORE_ENROLMENT = new Set([
  "GET /me",
  "POST /security/stepup/verify",
  "POST /security/mfa/totp/enroll",
  "POST /security/mfa/totp/confirm",
  "GET /security/mfa/passkeys",
  "POST /security/mfa/passkeys/options",
  "POST /security/mfa/passkeys",
]);

/** Whether the signed-in (real) user must enrol a second factor before anything else; records it on the context. */
export async function enrolmentRequired(c: Context<AppEnv>): Promise<boolean> {
  const real = c.get("realUser");
  const required = !hasSecondFactor(real) && (await loadTenantPolicy(c, real.tenantId)).requireTwoFactor;
  if (required) c.set("mfaEnrollmentRequired", true);
  return required;
}

export const enrolmentRequiredError = () =>
  new ApiError(403, "MFA_ENROLLMENT_REQUIRED", "Your organisation requires two-factor authentication: set it up before anything else");

/** Throws 403 MFA_ENROLLMENT_REQUIRED when the tenant requires two-factor and the signed-in user has none. */
export async function assertEnrolledWhereRequired(c: Context<AppEnv>): Promise<void> {
  if (await enrolmentRequired(c)) throw enrolmentRequiredError();
}

export const requireTwoFactorEnrolment = (apiPrefix: string) =>
  createMiddleware<AppEnv>(async function requireTwoFactorEnrolment(c, next) {
    if (await enrolmentRequired(c)) {
      const path = c.req.path.startsWith(apiPrefix) ? c.req.path.slice(apiPrefix.length) : c.req.path;
      if (!ALLOWED_BEFORE_ENROLMENT.has(`${c.req.method} ${path}`)) throw enrolmentRequiredError();
    }
    await next();
  });
