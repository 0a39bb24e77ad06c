/**
 * Sign-in and sign-out.
 *
 * Threat model: password guessing and lockout of a victim by failing on purpose (the
 * throttles in ./throttle.ts, device cookies in ./device.ts), user enumeration (same
 * answer, the same PBKDF2 and D1 work for unknown emails, and FAIL rows written after
 * the response), session fixation (a new id at every sign-in), cookie theft by script
 * (HttpOnly, __Host-, Secure, SameSite=Lax).
 */
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import type { AppEnv, AuthUser } from "../env";
import { ApiError } from "../errors";
import { assertIpAllowed } from "../ip-rules";
import { loadTenantPolicy } from "../edge-document/rules-and-policy";
import { dummyPasswordHash, verifyPassword } from "../lib/password";
import { permissionsOf } from "../lib/permissions";
import { verifySecondFactor } from "../stepup/second-factor";
import { validate } from "../lib/validation";
import { requireSession } from "../sessions/middleware";
import { resolveImpersonation } from "../impersonation/middleware";
import { endSessions } from "../sessions/revoke";
import { clearSessionCookies } from "../sessions/cookies";
import { sanitizeReturnTo } from "../gateway/return-to";
import { loginSchema } from "./schemas";
import { findCurrentUserByEmail } from "../users/service";
import { deviceCookieKeys, issueDevice, readDevice } from "./device";
import { startSession } from "./start-session";
import { clearSignInAttempts, reserveSignIn, signInUnavailable, throttleAddress } from "./throttle";

export const authRoutes = new Hono<AppEnv>()
  // Refusals are written after the response: a known email's FAIL row must not make its
  // answer slower than an unknown email's, which has no tenant log to write to.
  .post("/login", audited("LOGIN_FAILED", { targetType: "user", afterResponse: true }), validate("json", loginSchema), async (c) => {
    const body = c.req.valid("json");
    const db = c.var.db;
    const deviceKey = await deviceCookieKeys(c.env);

    const user = await findCurrentUserByEmail(db, body.email).catch((err: unknown) => {
      throw signInUnavailable(c, "sign-in user lookup", err);
    });
    const knownUser = user ? { tenantId: user.tenantId, actorUserId: user.id, targetId: user.id } : {};
    const deviceId = await readDevice(c, deviceKey, body.email);
    // Counted before the password is checked, so parallel guesses cannot overshoot.
    const refusal = await reserveSignIn(c, body.email, deviceId);
    if (refusal) {
      throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many failed sign-in attempts; try again later", {
        details: { retryAfterSeconds: refusal.retryAfterSeconds },
        audit: {
          ...knownUser,
          failureReason: "TOO_MANY_ATTEMPTS",
          metadata: { throttle: refusal.scope },
          // A client retrying in a loop: one row per email, address and minute, then at each doubling.
          dedupeSubject: `${body.email}|${throttleAddress(c)}`,
        },
      });
    }

    // Same PBKDF2 work whether or not the email exists (no enumeration by timing); a member
    // removed from the tenant is not found by email (findCurrentUserByEmail): an unknown email.
    const passwordOk = await verifyPassword(body.password, user ? user.passwordHash : await dummyPasswordHash());
    // The tenant is known now and its IP rules bind sign-in too. They are applied
    // whatever the password, so a blocked address never learns whether it was right
    // (it does learn that the email belongs to a tenant that restricts addresses).
    if (user) await assertIpAllowed(c, user.tenantId, user.id);
    if (!user || !passwordOk) {
      const reason = !user ? "UNKNOWN_EMAIL" : "INVALID_PASSWORD";
      throw new ApiError(401, "INVALID_CREDENTIALS", "Email or password is incorrect", { audit: { ...knownUser, failureReason: reason } });
    }
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
    clearSessionCookies(c);
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
