import { createMiddleware } from "hono/factory";
import type { User } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { ApiError } from "../errors";
import { PERMISSION_EXTENSION, ROLE_EXTENSION, noted } from "../openapi/notes";
import { hasPermission, type Permission, type Role, rankAbove } from "./permissions";

/**
 * May `actor` act on `target` (already loaded within the actor's tenant, so another
 * tenant's user never reaches here: it was a 404)? Oneself always; others need
 * `permission`, and nobody acts on a user who outranks them.
 */
export function assertMayActOn(actor: AuthUser, target: Pick<User, "id" | "role">, permission: Permission): void {
  if (actor.id === target.id) return;
  if (!hasPermission(actor, permission)) {
    throw new ApiError(403, "FORBIDDEN", `This needs the ${permission} permission`, { audit: { targetType: "user", targetId: target.id } });
  }
  if (rankAbove(target.role, actor.role)) {
    throw new ApiError(403, "FORBIDDEN", "You cannot act on a user with a higher role than yours", { audit: { targetType: "user", targetId: target.id } });
  }
}

export function assertPermission(actor: AuthUser, permission: Permission): void {
  if (!hasPermission(actor, permission)) {
    throw new ApiError(403, "FORBIDDEN", `This needs the ${permission} permission`);
  }
}

/** Route-level permission gate, placed before step-up so nobody is asked to verify in vain. */
export const requirePermission = (permission: Permission) =>
  noted(
    createMiddleware<AppEnv>(async function requirePermission(c, next) {
      assertPermission(c.get("user"), permission);
      await next();
    }),
    { errors: ["FORBIDDEN"], extensions: { [PERMISSION_EXTENSION]: [permission] } },
  );

/** Route-level role gate (e.g. the tenant's policy is the owners'), placed before step-up like requirePermission. */
export const requireRole = (role: Role) =>
  noted(
    createMiddleware<AppEnv>(async function requireRole(c, next) {
      if (c.get("user").role !== role) throw new ApiError(403, "FORBIDDEN", `Only an ${role} can do this`);
      await next();
    }),
    { errors: ["FORBIDDEN"], extensions: { [ROLE_EXTENSION]: [role] } },
  );
