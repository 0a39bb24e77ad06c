/**
 * Whom the operator may issue a password reset link to: a tenant's sole enabled owner, by
 * email. Anyone else has someone in the tenant who can do it (an owner resets an owner or
 * admin from the Team page), and the operator, who is no user of any tenant, stays out of
 * its members' access. Another tenant's member, a removed one, or one who is not an owner
 * is 404 USER_NOT_FOUND, as an unknown email is.
 */
import { and, eq, isNull, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { type User, tenants, users } from "../db/schema";
import { ApiError } from "../errors";

export async function soleOwnerByEmail(db: Db, tenantId: string, email: string): Promise<User> {
  const tenant = await db.query.tenants.findFirst({ where: eq(tenants.id, tenantId), columns: { id: true } });
  if (!tenant) throw new ApiError(404, "TENANT_NOT_FOUND", "Tenant not found");
  const audit = { tenantId, actorUserId: null, targetType: "user" as const, metadata: { via: "operator" } };
  const owner = await db.query.users.findFirst({ where: and(eq(users.tenantId, tenantId), eq(users.email, email), isNull(users.removedAt), eq(users.role, "owner")) });
  if (!owner) throw new ApiError(404, "USER_NOT_FOUND", "This tenant has no owner with that email", { audit });
  const refused = { ...audit, targetId: owner.id };
  if (owner.disabledAt !== null) throw new ApiError(409, "USER_DISABLED", "This owner is disabled; enable them first", { audit: refused });
  const other = await db.query.users.findFirst({
    where: and(eq(users.tenantId, tenantId), eq(users.role, "owner"), ne(users.id, owner.id), isNull(users.removedAt), isNull(users.disabledAt)),
    columns: { id: true },
  });
  if (other) {
    throw new ApiError(409, "OWNER_NOT_SOLE", "This tenant has another enabled owner: they issue the link from the Team page", { audit: refused });
  }
  return owner;
}
