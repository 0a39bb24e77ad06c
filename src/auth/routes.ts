/**
 * Sign-in and sign-out.
 *
 * Threat model: password guessing and lockout of a victim by failing on purpose (the
 * throttles in ./throttle.ts, device cookies in ./device.ts), user enumeration (the same
 * answer, and the same D1, KV and PBKDF2 work, for an unknown email as for a member's
 * until the password is found right: ./sign-in-subject.ts, ./sign-in-refusal.ts),
 * session fixation (a new id at every sign-in), cookie theft by script (HttpOnly,
 * __Host-, Secure, SameSite=Lax).
 */
import { Hono } from "hono";
import { deleteCookie } from "hono/cookie";
import { audited } from "../audit/middleware";
import type { AppEnv, AuthUser } from "../env";
import { ApiError } from "../errors";
import { assertIpAllowed } from "../ip-rules";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import { verifyPassword } from "../lib/password";
import { permissionsOf } from "../lib/permissions";
import { verifySecondFactor } from "../stepup/second-factor";
import { validate } from "../lib/validation";
import { requireSession } from "../sessions/middleware";
import { resolveImpersonation } from "../impersonation/middleware";
import { endSessions } from "../sessions/revoke";
import { SESSION_COOKIE } from "../sessions/token";
import { SNAPSHOT_COOKIE } from "../sessions/snapshot";
import { sanitizeReturnTo } from "../gateway/return-to";
import { loginSchema } from "./schemas";
import { deviceCookieKeys, issueDevice, readDevice } from "./device";
import { startSession } from "./start-session";
import { refuseSignIn } from "./sign-in-refusal";
import { identifySignIn } from "./sign-in-subject";
import { clearSignInAttempts, reserveSignIn } from "./throttle";

export const authRoutes = new Hono<AppEnv>()
  // Refusals after a right password are written after the response; those before it, by refuseSignIn.
  .post("/login", audited("LOGIN_FAILED", { targetType: "user", afterResponse: true }), validate("json", loginSchema), async (c) => {
    const body = c.req.valid("json");
    const deviceKey = await deviceCookieKeys(c.env);

    // Who is this: a current member, or NOBODY, whom every step until the password is
    // found right treats alike (same D1, KV and PBKDF2 work; no enumeration by timing).
    const subject = await identifySignIn(c, body.email);
    const deviceId = await readDevice(c, deviceKey, body.email);
    // Counted before the password is checked, so parallel guesses cannot overshoot.
    const throttled = await reserveSignIn(c, body.email, deviceId);
    if (throttled) throw refuseSignIn(c, subject, { kind: "throttled", throttle: throttled });

    const passwordOk = await verifyPassword(body.password, subject.passwordHash);
    // The tenant's IP rules bind sign-in too. They are applied whatever the password, so
    // a blocked address never learns whether it was right (it does learn that the email
    // belongs to a tenant that restricts addresses); NOBODY's tenant has none.
    await assertIpAllowed(c, subject.tenantId, subject.userId);
    const user = subject.user;
    if (!user || !passwordOk) throw refuseSignIn(c, subject, { kind: "wrong-credentials" });
    const knownUser = { tenantId: user.tenantId, actorUserId: user.id, targetId: user.id };
    // Only once the password was right: a disabled member is told so, a guesser learns nothing.
    if (user.disabledAt !== null) {
      throw new ApiError(403, "USER_DISABLED", "Your account has been disabled; ask an administrator of your organisation", { audit: { ...knownUser, failureReason: "USER_DISABLED" } });
    }

    let usedRecoveryCode = false;
    if (user.totpEnabled) {
      if (body.totpCode === undefined && body.recoveryCode === undefined) {
        // The client must now ask for the code, but the password was right: that is worth
        // a row (credential stuffing that found a password must leave a trace).
        throw new ApiError(401, "TOTP_REQUIRED", "Enter the code from your authenticator app", { audit: { ...knownUser, failureReason: "SECOND_FACTOR_REQUIRED" } });
      }
      const method = await verifySecondFactor(c, user, { code: body.totpCode, recoveryCode: body.recoveryCode }, ["totp", "recovery_code"]);
      usedRecoveryCode = method === "recovery_code";
    }

    // A tenant requiring two-factor sends a member without TOTP straight to enrolment
    // (the panel reads this; every other route refuses them until then, src/tenant/enrolment-gate.ts).
    const mfaEnrollmentRequired = !user.totpEnabled && (await loadTenantPolicy(c, user.tenantId)).requireTwoFactor;

    // RFC 8176: a password, then a one-time code or (a recovery code) some second factor.
    const amr = !user.totpEnabled ? ["pwd"] : usedRecoveryCode ? ["pwd", "mfa"] : ["pwd", "otp", "mfa"];
    const actor = { tenantId: user.tenantId, actorUserId: user.id };
    const { row, state } = await startSession(c, user, {
      amr,
      changes: clearSignInAttempts(c, body.email, deviceId),
      eventsBefore: [
        { ...actor, action: "LOGIN_SUCCEEDED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { secondFactor: user.totpEnabled, knownDevice: deviceId !== null } },
      ],
      eventsAfter: usedRecoveryCode
        ? [{ ...actor, action: "MFA_RECOVERY_CODE_USED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { path: "sign-in" } }]
        : [],
    });
    await issueDevice(c, deviceKey, body.email, deviceId);
    // Same-origin paths only (never another host, scheme or //): anything else is "/".
    return c.json({ user: publicUser(state.user), sessionId: row.id, redirectTo: sanitizeReturnTo(body.returnTo), mfaEnrollmentRequired });
  })
  // Not the whole edge check: signing out works from any address.
  .post("/logout", audited("LOGOUT", { targetType: "session" }), requireSession(), resolveImpersonation({ refuseWritesOnEnd: false }), async (c) => {
    const session = c.get("session");
    // Signing out while impersonating ends both: the impersonation lives on this session.
    await endSessions(c, {
      tenantId: session.tenantId,
      userId: session.userId,
      which: { session },
      reason: "LOGOUT",
      event: () => ({ action: "LOGOUT", outcome: "SUCCESS", actorUserId: session.userId, targetType: "session", targetId: session.id }),
    });
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
    deleteCookie(c, SNAPSHOT_COOKIE, { path: "/", secure: true, prefix: "host" });
    return c.json({ success: true });
  });

export function publicUser(user: AuthUser) {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    permissions: permissionsOf(user),
    totpEnabled: user.totpEnabled,
  };
}
