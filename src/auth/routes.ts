/**
 * Sign-in and sign-out. The sign-in route is the password way in; its steps, which other
 * ways in share, are in ./sign-in.ts.
 *
 * Threat model: password guessing and lockout of a victim by failing on purpose (the
 * throttles in ./throttle.ts, device cookies in ./device.ts), user enumeration (the same
 * answer, and the same D1, KV and PBKDF2 work, for an unknown email as for a member's
 * until the password is found right: ./sign-in-subject.ts, ./sign-in-refusal.ts),
 * session fixation (a new id at every sign-in), cookie theft by script (HttpOnly,
 * __Host-, Secure, SameSite=Lax).
 */
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import type { AppEnv, AuthUser } from "../env";
import { permissionsOf } from "../lib/permissions";
import { validate } from "../lib/validation";
import { requireSession } from "../sessions/middleware";
import { resolveImpersonation } from "../impersonation/middleware";
import { endSessions } from "../sessions/revoke";
import { clearSessionCookies } from "../sessions/cookies";
import { sanitizeReturnTo } from "../gateway/return-to";
import { type Propagation, withPropagation } from "../propagation";
import { emptyBody } from "../lib/schemas";
import { signInPasskeyOptions } from "../passkeys/options";
import { identifyPasskey, passkeyWayIn } from "./passkey-sign-in";
import { loginSchema, passkeySignInSchema } from "./schemas";
import { reserveAddressAttempt } from "./throttle";
import { ApiError } from "../errors";
import { admitSignIn, passwordWayIn, secondFactor, startSignedInSession } from "./sign-in";
import { identifySignIn } from "./sign-in-subject";
import { answers } from "../openapi/notes";
import { SECOND_FACTOR_REFUSALS } from "../stepup/second-factor";
import { PASSKEY_REFUSALS } from "../passkeys/ceremony";

export const authRoutes = new Hono<AppEnv>()
  // Refusals after a right password are written after the response; those before it, by
  // refuseSignIn (./sign-in-refusal.ts).
  .post("/login", audited("LOGIN_FAILED", { targetType: "user", afterResponse: true }), validate("json", loginSchema), answers("INVALID_CREDENTIALS", "TOTP_REQUIRED", "SECOND_FACTOR_REQUIRED", "SSO_REQUIRED", "USER_DISABLED", "TENANT_DISABLED", "IP_BLOCKED", "AUTH_UNAVAILABLE", ...SECOND_FACTOR_REFUSALS), async (c) => {
    const body = c.req.valid("json");
    const way = await passwordWayIn(c, body.email, body.password);
    const subject = await identifySignIn(c, body.email);
    const admitted = await admitSignIn(c, subject, way);
    const factor = await secondFactor(c, admitted, body);
    const { row, state } = await startSignedInSession(c, admitted, factor);
    // Same-origin paths only (never another host, scheme or //): anything else is "/".
    return c.json({ user: publicUser(state.user), sessionId: row.id, redirectTo: sanitizeReturnTo(body.returnTo), mfaEnrollmentRequired: factor.enrolmentRequired });
  })
  // A discoverable passkey's challenge: no allowCredentials, the passkey says whose it is.
  .post("/passkey/options", audited("LOGIN_FAILED", { targetType: "user", afterResponse: true }), validate("json", emptyBody), answers("TOO_MANY_ATTEMPTS", "AUTH_UNAVAILABLE"), async (c) => {
    // Anyone may ask: each answer is a D1 row, so the address's sign-in limit counts it.
    const throttled = await reserveAddressAttempt(c);
    if (throttled) {
      throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many sign-in attempts from this address; try again later", { details: { retryAfterSeconds: throttled.retryAfterSeconds } });
    }
    return c.json(await signInPasskeyOptions(c));
  })
  // The passkey way in: the same steps as /login, the credential counting as both factors.
  .post("/passkey", audited("LOGIN_FAILED", { targetType: "user", afterResponse: true }), validate("json", passkeySignInSchema), answers("TOO_MANY_ATTEMPTS", "SSO_REQUIRED", "USER_DISABLED", "TENANT_DISABLED", "IP_BLOCKED", "AUTH_UNAVAILABLE", ...PASSKEY_REFUSALS), async (c) => {
    const body = c.req.valid("json");
    const subject = await identifyPasskey(c, body.response);
    const way = await passkeyWayIn(c, subject, body.challengeId, body.response);
    const admitted = await admitSignIn(c, subject, way);
    const factor = await secondFactor(c, admitted, {});
    const { row, state } = await startSignedInSession(c, admitted, factor);
    return c.json({ user: publicUser(state.user), sessionId: row.id, redirectTo: sanitizeReturnTo(body.returnTo), mfaEnrollmentRequired: factor.enrolmentRequired });
  })
  .post("/logout", ...signOutChecks(), answers("AUTH_UNAVAILABLE"), async (c) => c.json({ success: true, ...withPropagation(await signOutThisSession(c)) }));

/**
 * What signing out passes first, on the API (POST /api/auth/logout) and on the sign-out
 * page (./sign-out-page.ts): the session cookie (not the whole edge check: signing out
 * works from any address), audited as LOGOUT.
 */
export function signOutChecks() {
  return [audited("LOGOUT", { targetType: "session" }), requireSession(), resolveImpersonation({ refuseWritesOnEnd: false })] as const;
}

/** Ends this browser's session (and an impersonation on it) with its LOGOUT row, and clears its cookies. */
export async function signOutThisSession(c: Context<AppEnv>): Promise<Propagation> {
  const session = c.get("session");
  // Signing out while impersonating ends both: the impersonation lives on this session.
  const { propagation } = await endSessions(c, {
    tenantId: session.tenantId,
    userId: session.userId,
    which: { session },
    reason: "LOGOUT",
    event: () => ({ action: "LOGOUT", outcome: "SUCCESS", actorUserId: session.userId, targetType: "session", targetId: session.id }),
  });
  clearSessionCookies(c);
  return propagation;
}

export function publicUser(user: AuthUser) {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    permissions: permissionsOf(user),
    totpEnabled: user.totpEnabled,
    passkeyCount: user.passkeyCount,
  };
}
