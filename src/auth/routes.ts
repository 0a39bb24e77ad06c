/**
 * Sign-in and sign-out.
 *
 * Threat model: password guessing (throttled per email in D1), user enumeration (same
 * answer and the same PBKDF2 work for unknown emails), session fixation (a new id at
 * every sign-in), cookie theft by script (HttpOnly, __Host-, Secure, SameSite=Lax).
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { createDb } from "../db/client";
import { userSessions, users } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { ApiError } from "../errors";
import { impersonationEndedEvent } from "../impersonation/service";
import { assertIpAllowed } from "../ip-rules";
import { dummyPasswordHash, verifyPassword } from "../lib/password";
import { permissionsOf } from "../lib/permissions";
import { clearAttempts, reserveAttempt } from "../lib/throttle";
import { verifySecondFactor } from "../stepup/second-factor";
import { validate } from "../lib/validation";
import { writeCachedState } from "../sessions/cache";
import { sessionTimeouts } from "../sessions/config";
import { requireSession } from "../sessions/middleware";
import { prepareSession, revokeSessionStatement, syncRevocationToCache } from "../sessions/service";
import { SESSION_COOKIE } from "../sessions/token";
import { loginSchema } from "./schemas";
import { LOGIN_THROTTLE, loginThrottleKey } from "./throttle";

export const authRoutes = new Hono<AppEnv>()
  .post("/login", audited("LOGIN_FAILED", { targetType: "user" }), validate("json", loginSchema), async (c) => {
    const body = c.req.valid("json");
    const db = createDb(c.env.DB);
    const now = c.get("now");
    const throttleKey = loginThrottleKey(body.email);

    const user = await db.query.users.findFirst({ where: eq(users.email, body.email) });
    const knownUser = user ? { tenantId: user.tenantId, actorUserId: user.id, targetId: user.id } : {};
    // Counted before the password is checked, so parallel guesses cannot overshoot.
    const retryAfterSeconds = await reserveAttempt(db, throttleKey, LOGIN_THROTTLE, now);
    if (retryAfterSeconds !== null) {
      throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many failed sign-in attempts; try again later", { retryAfterSeconds }, knownUser);
    }

    // Same PBKDF2 work whether or not the email exists (no enumeration by timing).
    const passwordOk = await verifyPassword(body.password, user?.passwordHash ?? (await dummyPasswordHash()));
    // The tenant is known now and its IP rules bind sign-in too. They are applied
    // whatever the password, so a blocked address never learns whether it was right
    // (it does learn that the email belongs to a tenant that restricts addresses).
    if (user) await assertIpAllowed(c, user.tenantId, user.id);
    if (!user || !passwordOk || user.disabledAt !== null) {
      const reason = !user ? "UNKNOWN_EMAIL" : !passwordOk ? "INVALID_PASSWORD" : "USER_DISABLED";
      throw new ApiError(401, "INVALID_CREDENTIALS", "Email or password is incorrect", {}, { ...knownUser, failureReason: reason });
    }

    let usedRecoveryCode = false;
    if (user.totpEnabled) {
      if (body.totpCode === undefined && body.recoveryCode === undefined) {
        // A question, not a failure: the password was right and the client must ask for the code.
        throw new ApiError(401, "TOTP_REQUIRED", "Enter the code from your authenticator app", {}, { question: true });
      }
      const method = await verifySecondFactor(c, user, { code: body.totpCode, recoveryCode: body.recoveryCode }, ["totp", "recovery_code"]);
      usedRecoveryCode = method === "recovery_code";
    }

    const { row, token, state } = await prepareSession(c, user);
    const actor = { tenantId: user.tenantId, actorUserId: user.id };
    await commitWithAudit(
      c,
      [db.insert(userSessions).values(row), clearAttempts(db, throttleKey)],
      [
        { ...actor, action: "LOGIN_SUCCEEDED", outcome: "SUCCESS", targetType: "user", targetId: user.id, metadata: { secondFactor: user.totpEnabled } },
        { ...actor, action: "SESSION_CREATED", outcome: "SUCCESS", targetType: "session", targetId: row.id, after: { device: row.userAgent, ip: row.ip } },
        ...(usedRecoveryCode
          ? [{ ...actor, action: "MFA_RECOVERY_CODE_USED" as const, outcome: "SUCCESS" as const, targetType: "user", targetId: user.id, metadata: { path: "sign-in" } }]
          : []),
      ],
    );
    await writeCachedState(c.env.SESSION_CACHE, state, now);

    setCookie(c, SESSION_COOKIE, token, {
      path: "/",
      secure: true,
      httpOnly: true,
      sameSite: "Lax",
      prefix: "host",
      maxAge: sessionTimeouts(c.env).absoluteSeconds,
    });
    return c.json({ user: publicUser(state.user), sessionId: row.id });
  })
  .post("/logout", audited("LOGOUT", { targetType: "session" }), requireSession(), async (c) => {
    const db = createDb(c.env.DB);
    const session = c.get("session");
    // Signing out while impersonating ends both: the impersonation lives on this session.
    await commitWithAudit(c, [revokeSessionStatement(db, session.id, "LOGOUT", c.get("now"))], [
      { action: "LOGOUT", outcome: "SUCCESS", actorUserId: session.userId, targetType: "session", targetId: session.id },
      ...impersonationEndedEvent(session, "LOGOUT"),
    ]);
    await syncRevocationToCache(c, session.userId);
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
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
