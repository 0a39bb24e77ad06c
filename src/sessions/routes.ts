import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import type { User, UserSession } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { assertMayActOn } from "../lib/authorize";
import { validate } from "../lib/validation";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requireStepUp } from "../stepup/middleware";
import { sessionTimeouts } from "./config";
import { emptyBody } from "../lib/schemas";
import { withPropagation } from "../propagation";
import { listSessionsQuery, sessionIdParam } from "./schemas";
import {
  findTenantSession,
  findTenantUser,
  listUserSessions,
  toAuthSessionFields,
  toSessionView,
} from "./service";
import { endSessions } from "./revoke";
import { clearSessionCookies } from "./cookies";
import { answers } from "../openapi/notes";

/** The session named in the path and its owner, if the caller may revoke it (404 / 403 otherwise). */
async function revocationTarget(c: Context<AppEnv>): Promise<{ session: UserSession; owner: User }> {
  const me = c.get("user");
  const db = c.var.db;
  const session = await findTenantSession(db, me.tenantId, c.req.param("sessionId") ?? "");
  if (!session) throw notFound("Session", "SESSION_NOT_FOUND");
  const owner = await findTenantUser(db, me.tenantId, session.userId);
  if (!owner) throw notFound("Session", "SESSION_NOT_FOUND");
  assertMayActOn(me, owner, "SETTINGS_SECURITY_EDIT");
  return { session, owner };
}

/** Mounted at /api/security/sessions, behind the edge check. */
export const sessionRoutes = new Hono<AppEnv>()
  .get("/", validate("query", listSessionsQuery), answers("USER_NOT_FOUND", "FORBIDDEN"), async (c) => {
    const me = c.get("user");
    const current = c.get("session");
    const db = c.var.db;
    const userId = c.req.valid("query").userId ?? me.id;
    const target = await findTenantUser(db, me.tenantId, userId);
    if (!target) throw notFound("User", "USER_NOT_FOUND");
    assertMayActOn(me, target, "SETTINGS_SECURITY_VIEW");

    const now = c.get("now");
    const rows = await listUserSessions(db, me.tenantId, target.id, now);
    return c.json({ sessions: rows.map((s) => toSessionView(s, target, current.id, now, sessionTimeouts(c.env))), currentSessionId: current.id });
  })
  .post(
    "/revoke-others",
    audited("SESSION_REVOKE_ALL", { targetType: "user" }),
    validate("json", emptyBody),
    forbidWhileImpersonating("Revoking sessions"),
    requireStepUp("REVOKE_ALL_OTHER_SESSIONS"),
    async (c) => {
      const me = c.get("user");
      const current = c.get("session");
      const { endedIds, propagation } = await endSessions(c, {
        tenantId: me.tenantId,
        userId: me.id,
        which: { allBut: current.id },
        reason: "REVOKE_ALL_OTHERS",
        event: (ids) => ({
          action: "SESSION_REVOKE_ALL",
          outcome: "SUCCESS",
          targetType: "user",
          targetId: me.id,
          metadata: { revokedSessionIds: ids, keptSessionId: current.id },
        }),
      });
      return c.json({ success: true, revoked: endedIds.length, ...withPropagation(propagation) });
    },
  )
  .post(
    "/:sessionId/revoke",
    audited("SESSION_REVOKED", { targetType: "session", targetParam: "sessionId" }),
    validate("param", sessionIdParam),
    forbidWhileImpersonating("Revoking sessions"),
    // One's own session: self-service. Anyone else's: an admin action, second factor only.
    requireStepUp(async (c) => ((await revocationTarget(c)).owner.id === c.get("user").id ? "REVOKE_SESSION" : "REVOKE_USER_SESSION")),
    answers("SESSION_NOT_FOUND", "SESSION_ALREADY_REVOKED", "FORBIDDEN"),
    async (c) => {
      const me = c.get("user");
      const current = c.get("session");
      const now = c.get("now");
      const { session, owner } = await revocationTarget(c);
      if (session.revokedAt !== null) throw new ApiError(409, "SESSION_ALREADY_REVOKED", "This session is already revoked");

      const reason = owner.id === me.id ? "REVOKED" : "REVOKED_BY_ADMIN";
      const { propagation } = await endSessions(c, {
        tenantId: me.tenantId,
        userId: owner.id,
        which: { session: toAuthSessionFields(session) },
        reason,
        event: () => ({
          action: "SESSION_REVOKED",
          outcome: "SUCCESS",
          targetType: "session",
          targetId: session.id,
          before: { revokedAt: null },
          after: { revokedAt: new Date(now).toISOString(), revokeReason: reason },
          metadata: { sessionUserId: owner.id },
        }),
      });

      if (session.id === current.id) {
        clearSessionCookies(c);
        return c.json({ success: true, currentRevoked: true, ...withPropagation(propagation) });
      }
      return c.json({ success: true, ...withPropagation(propagation) });
    },
  );
