import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { notFound } from "../errors";
import { assertMayActOn, requirePermission } from "../lib/authorize";
import { validate } from "../lib/validation";
import { requireStepUp } from "../stepup/middleware";
import { emptyBody, userIdParam } from "../sessions/schemas";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { impersonationEndedEvent } from "../impersonation/service";
import { findTenantUser, forceLogoutStatements, listUserSessions, syncRevocationToCache, toAuthSessionFields } from "../sessions/service";

/** Mounted at /api/users, behind requireSession. */
export const userRoutes = new Hono<AppEnv>().post(
  "/:id/force-logout",
  audited("SESSION_INVALIDATED", { targetType: "user", targetParam: "id" }),
  validate("param", userIdParam),
  validate("json", emptyBody),
  forbidWhileImpersonating("Force logout"),
  requirePermission("SETTINGS_SECURITY_EDIT"),
  requireStepUp("FORCE_LOGOUT"),
  async (c) => {
    const me = c.get("user");
    const db = createDb(c.env.DB);
    const now = c.get("now");
    const target = await findTenantUser(db, me.tenantId, c.req.valid("param").id);
    if (!target) throw notFound("User", "USER_NOT_FOUND");
    assertMayActOn(me, target, "SETTINGS_SECURITY_EDIT");

    const live = (await listUserSessions(db, me.tenantId, target.id, now)).filter((s) => s.revokedAt === null);
    await commitWithAudit(c, [...forceLogoutStatements(db, target.id, now)], [
      {
        action: "SESSION_INVALIDATED",
        outcome: "SUCCESS",
        targetType: "user",
        targetId: target.id,
        before: { sessionVersion: target.sessionVersion },
        after: { sessionVersion: target.sessionVersion + 1 },
        metadata: { reason: "FORCE_LOGOUT", revokedSessionIds: live.map((s) => s.id) },
      },
      ...live.flatMap((s) => impersonationEndedEvent(toAuthSessionFields(s), "SESSION_REVOKED")),
    ]);
    await syncRevocationToCache(c, target.id);
    return c.json({ success: true, revoked: live.length });
  },
);
