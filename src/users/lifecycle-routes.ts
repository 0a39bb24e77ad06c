/**
 * /api/users/:id/disable, /enable, DELETE /api/users/:id, /mfa-reset: an admin's hold on
 * a member's access. Each reads audited → validate → forbidWhileImpersonating →
 * requirePermission → requireStepUp → handler, acts only within the caller's tenant
 * (another tenant's or a removed user is 404), never on oneself, never on a user who
 * outranks the caller (manageableUser), and ends the user's sessions through endSessions.
 * Disable, enable and remove are ./lifecycle.ts's, which SCIM uses too.
 */
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { NO_SECOND_FACTOR, removeSecondFactors } from "../stepup/all-factors";
import { hasSecondFactor } from "../stepup/policy";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requirePermission } from "../lib/authorize";
import { emptyBody, userIdParam } from "../lib/schemas";
import { validate } from "../lib/validation";
import { endSessions } from "../sessions/revoke";
import { requireStepUp } from "../stepup/middleware";
import { retireResetLinks } from "../account/password-reset";
import { withPropagation } from "../propagation";
import { disableMember, enableMember, removeMember } from "./lifecycle";
import { issueResetLink } from "./reset-link";
import { manageableUser } from "./routes";
import { toUserView } from "./service";
import { answers } from "../openapi/notes";

/** Mounted at /api/users, behind the edge check. */
export const memberLifecycleRoutes = new Hono<AppEnv>()
  .post(
    "/:id/disable",
    audited("USER_DISABLED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Disabling a member"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("USER_ACCESS_CHANGE"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "USER_ALREADY_DISABLED", "LAST_OWNER", "IMPERSONATION_CONFLICT"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      if (target.disabledAt !== null) throw new ApiError(409, "USER_ALREADY_DISABLED", "This member is already disabled");
      const { endedIds, propagation } = await disableMember(c, target);
      return c.json({ user: toUserView({ ...target, disabledAt: c.get("now") }), revoked: endedIds.length, ...withPropagation(propagation) });
    },
  )
  .post(
    "/:id/enable",
    audited("USER_ENABLED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Enabling a member"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("USER_ACCESS_CHANGE"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "USER_NOT_DISABLED"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      if (target.disabledAt === null) throw new ApiError(409, "USER_NOT_DISABLED", "This member is not disabled");
      const propagation = await enableMember(c, target);
      return c.json({ user: toUserView({ ...target, disabledAt: null }), ...withPropagation(propagation) });
    },
  )
  .delete(
    "/:id",
    audited("USER_REMOVED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    forbidWhileImpersonating("Removing a member"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("USER_ACCESS_CHANGE"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "LAST_OWNER", "IMPERSONATION_CONFLICT"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      const { propagation } = await removeMember(c, target);
      return c.json({ success: true, ...withPropagation(propagation) });
    },
  )
  .post(
    "/:id/mfa-reset",
    audited("MFA_RESET", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Resetting two-factor"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("MFA_RESET"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "MFA_NOT_ENABLED"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      // An admin's factor guards admin actions: only an owner may take it away.
      if (target.role !== "member" && me.role !== "owner") {
        throw new ApiError(403, "FORBIDDEN", "Only an owner resets the two-factor authentication of an admin or owner", { audit: { targetType: "user", targetId: target.id } });
      }
      if (!hasSecondFactor(target) && target.totpPendingSecretEnc === null) throw new ApiError(409, "MFA_NOT_ENABLED", "This member has no two-factor authentication to reset");
      const db = c.var.db;
      const { endedIds, propagation } = await endSessions(c, {
        tenantId: target.tenantId,
        userId: target.id,
        which: { allBut: null },
        reason: "MFA_RESET",
        bumpSessionVersion: true,
        changes: [
          ...removeSecondFactors(db, target.id),
          retireResetLinks(db, target.id, c.get("now")),
        ],
        event: (ids) => ({
          action: "MFA_RESET",
          outcome: "SUCCESS",
          targetType: "user",
          targetId: target.id,
          before: { totpEnabled: target.totpEnabled, passkeyCount: target.passkeyCount },
          after: { totpEnabled: false, passkeyCount: 0 },
          metadata: { revokedSessionIds: ids },
        }),
      });
      return c.json({ user: toUserView({ ...target, ...NO_SECOND_FACTOR }), revoked: endedIds.length, ...withPropagation(propagation) });
    },
  )
  .post(
    "/:id/password-reset",
    audited("PASSWORD_RESET_REQUESTED", { targetType: "user", targetParam: "id" }),
    validate("param", userIdParam),
    validate("json", emptyBody),
    forbidWhileImpersonating("Resetting a password"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("PASSWORD_RESET"),
    answers("USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCESS", "FORBIDDEN", "USER_DISABLED"),
    async (c) => {
      const me = c.get("user");
      const target = await manageableUser(c, me, c.req.valid("param").id);
      if (target.disabledAt !== null) throw new ApiError(409, "USER_DISABLED", "Enable this member before resetting their password");
      return c.json(await issueResetLink(c, target, { userId: me.id, via: "admin" }));
    },
  );
