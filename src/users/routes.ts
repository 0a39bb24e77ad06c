import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { isInvariantViolation } from "../db/invariants";
import { type PermissionOverrides, type User, users } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { ApiError, notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { endImpersonationsInvolving } from "../impersonation/access-change";
import { revokeInvitationsBeyondStanding } from "./inviter-standing";
import { assertMayActOn, requirePermission } from "../lib/authorize";
import { permissionsOf } from "../lib/permissions";
import { validate } from "../lib/validation";
import { emptyBody, userIdParam } from "../lib/schemas";
import { withPropagation } from "../propagation";
import { endSessions } from "../sessions/revoke";
import { findTenantUser } from "../sessions/service";
import { requireStepUp } from "../stepup/middleware";
import { permissionsBody, roleBody } from "./schemas";
import { assertMayAssign, assertTenantKeepsAnOwner, listTenantUsers, toMemberView, toUserView } from "./service";
import { answers } from "../openapi/notes";

/** Loads a user of the caller's tenant that the caller may manage (not oneself). */
export async function manageableUser(c: Context<AppEnv>, me: AuthUser, id: string): Promise<User> {
  const target = await findTenantUser(c.var.db, me.tenantId, id);
  if (!target) throw notFound("User", "USER_NOT_FOUND");
  if (target.id === me.id) throw new ApiError(403, "CANNOT_CHANGE_OWN_ACCESS", "Nobody changes their own access (role, permissions, status or second factor)");
  assertMayActOn(me, target, "SETTINGS_SECURITY_EDIT");
  return target;
}

/** Mounted at /api/users, behind the edge check. */
export const userRoutes = new Hono<AppEnv>()
  .get("/", requirePermission("SETTINGS_TEAM_VIEW"), async (c) => {
    const rows = await listTenantUsers(c.var.db, c.get("user").tenantId);
    return c.json({ users: rows.map(toMemberView) });
  })
  .post(
    "/:id/force-logout",
    audited("SESSION_INVALIDATED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Force logout"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("FORCE_LOGOUT"),
    answers("USER_NOT_FOUND", "FORBIDDEN"),
    async (c) => {
      const me = c.get("user");
      const target = await findTenantUser(c.var.db, me.tenantId, c.req.valid("param").id);
      if (!target) throw notFound("User", "USER_NOT_FOUND");
      assertMayActOn(me, target, "SETTINGS_SECURITY_EDIT");

      const { endedIds, propagation } = await endSessions(c, {
        tenantId: me.tenantId,
        userId: target.id,
        which: { allBut: null },
        reason: "FORCE_LOGOUT",
        bumpSessionVersion: true,
        event: (ids) => ({
          action: "SESSION_INVALIDATED",
          outcome: "SUCCESS",
          targetType: "user",
          targetId: target.id,
          before: { sessionVersion: target.sessionVersion },
          after: { sessionVersion: target.sessionVersion + 1 },
          metadata: { reason: "FORCE_LOGOUT", revokedSessionIds: ids },
        }),
      });
      return c.json({ success: true, revoked: endedIds.length, ...withPropagation(propagation) });
    },
  )
  .patch(
    "/:id/role",
    audited("USER_ROLE_UPDATED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", roleBody),
    forbidWhileImpersonating("Changing roles"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("ROLE_CHANGE"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "LAST_OWNER", "IMPERSONATION_CONFLICT"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      const { role } = c.req.valid("json");
      assertMayAssign(me, target, { role });
      if (role === target.role) return c.json({ user: toUserView(target) });

      const db = c.var.db;
      const ending = await endImpersonationsInvolving(db, me.tenantId, target.id, c.get("now"));
      const invites = revokeInvitationsBeyondStanding(c, { ...target, role }, "USER_ROLE_UPDATED");
      try {
        await commitWithAudit(
          c,
          [db.update(users).set({ role }).where(eq(users.id, target.id)), ...invites, ...assertTenantKeepsAnOwner(db, me.tenantId), ...ending.statements],
          [
            {
              action: "USER_ROLE_UPDATED",
              outcome: "SUCCESS",
              targetType: "user",
              targetId: target.id,
              before: { role: target.role, permissions: permissionsOf(target) },
              after: { role, permissions: permissionsOf({ ...target, role }) },
            },
            ...ending.events,
          ],
        );
      } catch (err) {
        const conflict = await ending.conflict(err);
        if (conflict) throw conflict;
        if (isInvariantViolation(err)) throw new ApiError(409, "LAST_OWNER", "The tenant's last owner cannot be demoted");
        throw err;
      }
      const propagation = await ending.syncCache(c);
      return c.json({ user: toUserView({ ...target, role }), ...withPropagation(propagation) });
    },
  )
  .patch(
    "/:id/permissions",
    audited("USER_PERMISSIONS_UPDATED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", permissionsBody),
    forbidWhileImpersonating("Changing permissions"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("ROLE_CHANGE"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "IMPERSONATION_CONFLICT"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      const { grant, revoke } = c.req.valid("json");
      assertMayAssign(me, target, { grant });
      const current = target.permissionOverrides ?? { granted: [], revoked: [] };
      const next: PermissionOverrides = {
        granted: [...new Set([...current.granted.filter((p) => !revoke.includes(p)), ...grant])].sort(),
        revoked: [...new Set([...current.revoked.filter((p) => !grant.includes(p)), ...revoke])].sort(),
      };
      const db = c.var.db;
      const ending = await endImpersonationsInvolving(db, me.tenantId, target.id, c.get("now"));
      const invites = revokeInvitationsBeyondStanding(c, { ...target, permissionOverrides: next }, "USER_PERMISSIONS_UPDATED");
      try {
        await commitWithAudit(
          c,
          [db.update(users).set({ permissionOverrides: next }).where(eq(users.id, target.id)), ...invites, ...ending.statements],
          [
            {
              action: "USER_PERMISSIONS_UPDATED",
              outcome: "SUCCESS",
              targetType: "user",
              targetId: target.id,
              before: { overrides: current, permissions: permissionsOf(target) },
              after: { overrides: next, permissions: permissionsOf({ ...target, permissionOverrides: next }) },
            },
            ...ending.events,
          ],
        );
      } catch (err) {
        throw (await ending.conflict(err)) ?? err;
      }
      const propagation = await ending.syncCache(c);
      return c.json({ user: toUserView({ ...target, permissionOverrides: next }), ...withPropagation(propagation) });
    },
  );
