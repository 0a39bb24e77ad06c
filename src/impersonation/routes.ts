import { and, eq, isNull, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "../lib/zod";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { userSessions } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { requirePermission } from "../lib/authorize";
import { rankAbove } from "../lib/permissions";
import { validate } from "../lib/validation";
import { emptyBody, userIdParam } from "../lib/schemas";
import { withPropagation } from "../propagation";
import { findTenantUser, refreshCachedSessions } from "../sessions/service";
import { expireOwnGrants, requireStepUp } from "../stepup/middleware";
import { accessUnchanged, readAccess } from "./access-change";
import { forbidWhileImpersonating } from "./middleware";
import { endImpersonation, impersonationMaxSeconds } from "./service";
import { answers } from "../openapi/notes";

const startBody = z.strictObject({ reason: z.string().trim().min(3).max(500) });

const forbidden = (message: string) => new ApiError(403, "IMPERSONATION_FORBIDDEN", message);

/** Mounted at /api/impersonate, behind requireSession. */
export const impersonationRoutes = new Hono<AppEnv>()
  .post("/exit", audited("IMPERSONATION_ENDED", { targetType: "user" }), validate("json", emptyBody), requireStepUp("IMPERSONATION"), answers("NOT_IMPERSONATING", "IMPERSONATION_ENDED"), async (c) => {
    const session = c.get("session");
    if (!session.impersonation) throw new ApiError(409, "NOT_IMPERSONATING", "You are not impersonating anyone");
    const propagation = await endImpersonation(c, session, "EXIT");
    return c.json({ success: true, ...withPropagation(propagation) });
  })
  .post(
    "/:id",
    audited("IMPERSONATION_STARTED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", startBody),
    forbidWhileImpersonating("Starting another impersonation"),
    requirePermission("SETTINGS_TEAM_VIEW"),
    requireStepUp("IMPERSONATION"),
    answers("USER_NOT_FOUND", "FORBIDDEN", "IMPERSONATION_CONFLICT"),
    async (c) => {
      const admin = c.get("realUser");
      const session = c.get("session");
      const now = c.get("now");
      const db = c.var.db;
      const target = await findTenantUser(db, admin.tenantId, c.req.valid("param").id);
      if (!target) throw notFound("User", "USER_NOT_FOUND");
      if (target.id === admin.id) throw forbidden("You cannot impersonate yourself");
      // Strictly lower rank only: an admin never becomes a peer admin or an owner. Ranks as
      // D1 has them now; the batch asserts both parties' access is unchanged at commit, so a
      // role change racing this start either ends it or makes it fail.
      const [adminAccess, targetAccess] = await readAccess(db, [admin.id, target.id]);
      if (!adminAccess || !targetAccess) throw notFound("User", "USER_NOT_FOUND");
      if (!rankAbove(adminAccess.role, targetAccess.role)) throw forbidden("You can only impersonate users with a lower role than yours");
      if (target.disabledAt !== null) throw forbidden("This user is disabled");

      const { reason } = c.req.valid("json");
      const expiresAt = now + impersonationMaxSeconds(c.env) * 1000;
      const startStatements = [
        ...accessUnchanged(db, admin.tenantId, [
          { userId: admin.id, access: adminAccess },
          { userId: target.id, access: targetAccess },
        ]),
        db
          .update(userSessions)
          .set({ impersonatedUserId: target.id, impersonationReason: reason, impersonationStartedAt: now, impersonationExpiresAt: expiresAt })
          .where(and(eq(userSessions.id, session.id), isNull(userSessions.revokedAt), isNull(userSessions.impersonatedUserId))),
        // A concurrent start on the same session matched no row: abort, so that no
        // audit row claims an impersonation that did not begin.
        ...assertInBatch(
          db,
          admin.tenantId,
          "IMPERSONATION_BEGAN",
          // changes(): rows changed by the statement just before, the UPDATE above.
          sql`changes() = 1`,
        ),
        expireOwnGrants(db, session.id, now),
      ];
      try {
        await commitWithAudit(
          c,
          startStatements,
          {
            action: "IMPERSONATION_STARTED",
            outcome: "SUCCESS",
            actorUserId: admin.id,
            targetType: "user",
            targetId: target.id,
            after: { impersonatedUserId: target.id, expiresAt: new Date(expiresAt).toISOString() },
            metadata: { reason, sessionId: session.id },
          },
        );
      } catch (err) {
        if (isInvariantViolation(err)) {
          throw new ApiError(409, "IMPERSONATION_CONFLICT", "Another impersonation started on this session, or a role changed, at the same time; try again");
        }
        throw err;
      }
      const propagation = await refreshCachedSessions(c, admin.id);
      return c.json({
        success: true,
        ...withPropagation(propagation),
        impersonation: {
          user: { id: target.id, email: target.email, displayName: target.displayName },
          realUser: { id: admin.id, email: admin.email, displayName: admin.displayName },
          reason,
          startedAt: new Date(now).toISOString(),
          expiresAt: new Date(expiresAt).toISOString(),
        },
      });
    },
  );
