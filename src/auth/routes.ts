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
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { dummyPasswordHash, verifyPassword } from "../lib/password";
import { permissionsOf } from "../lib/permissions";
import { clearFailures, lockedForSeconds, recordFailure } from "../lib/throttle";
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
    const { email, password } = c.req.valid("json");
    const db = createDb(c.env.DB);
    const now = c.get("now");
    const throttleKey = loginThrottleKey(email);

    const user = await db.query.users.findFirst({ where: eq(users.email, email) });
    const retryAfterSeconds = await lockedForSeconds(db, throttleKey, LOGIN_THROTTLE, now);
    if (retryAfterSeconds !== null) {
      throw new ApiError(
        429,
        "TOO_MANY_ATTEMPTS",
        "Too many failed sign-in attempts; try again later",
        { retryAfterSeconds },
        user ? { tenantId: user.tenantId, actorUserId: user.id, targetId: user.id } : {},
      );
    }

    const passwordOk = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !passwordOk || user.disabledAt !== null) {
      const reason = !user ? "UNKNOWN_EMAIL" : !passwordOk ? "INVALID_PASSWORD" : "USER_DISABLED";
      await commitWithAudit(
        c,
        [recordFailure(db, throttleKey, LOGIN_THROTTLE, now)],
        user ? { action: "LOGIN_FAILED", outcome: "FAIL", tenantId: user.tenantId, actorUserId: user.id, targetType: "user", targetId: user.id, failureReason: reason } : [],
      );
      throw new ApiError(401, "INVALID_CREDENTIALS", "Email or password is incorrect", {}, { alreadyRecorded: true });
    }

    const { row, token, state } = await prepareSession(c, user);
    const actor = { tenantId: user.tenantId, actorUserId: user.id };
    await commitWithAudit(
      c,
      [db.insert(userSessions).values(row), clearFailures(db, throttleKey)],
      [
        { ...actor, action: "LOGIN_SUCCEEDED", outcome: "SUCCESS", targetType: "user", targetId: user.id },
        { ...actor, action: "SESSION_CREATED", outcome: "SUCCESS", targetType: "session", targetId: row.id, after: { device: row.userAgent, ip: row.ip } },
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
  .post("/logout", requireSession(), audited("LOGOUT", { targetType: "session" }), async (c) => {
    const db = createDb(c.env.DB);
    const session = c.get("session");
    await commitWithAudit(c, [revokeSessionStatement(db, session.id, "LOGOUT", c.get("now"))], {
      action: "LOGOUT",
      outcome: "SUCCESS",
      targetType: "session",
      targetId: session.id,
    });
    await syncRevocationToCache(c, session.userId);
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
    return c.json({ success: true });
  });

export function publicUser(user: { id: string; tenantId: string; email: string; displayName: string; role: "owner" | "admin" | "member" }) {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    permissions: permissionsOf(user.role),
  };
}
