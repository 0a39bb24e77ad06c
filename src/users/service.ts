import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type User, invariantGuard, tenants, users } from "../db/schema";
import { permissionsOf } from "../lib/permissions";

export function toUserView(u: User) {
  return {
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role,
    permissions: permissionsOf(u),
    permissionOverrides: u.permissionOverrides ?? { granted: [], revoked: [] },
    totpEnabled: u.totpEnabled,
    createdAt: new Date(u.createdAt).toISOString(),
    disabledAt: u.disabledAt === null ? null : new Date(u.disabledAt).toISOString(),
  };
}

export function listTenantUsers(db: Db, tenantId: string) {
  return db.select().from(users).where(eq(users.tenantId, tenantId)).orderBy(asc(users.email)).limit(1000);
}

/**
 * Batch items asserting that the tenant still has an owner after the batch's other
 * statements ran. Concurrent demotions of the last two owners cannot both commit:
 * D1 runs batches one at a time, and the later one sees no owner left and aborts.
 */
export function assertTenantKeepsAnOwner(db: Db, tenantId: string) {
  return [
    db.insert(invariantGuard).select(
      db
        .select({
          id: sql<number>`NULL`.as("id"),
          invariant: sql<string>`'TENANT_HAS_OWNER'`.as("invariant"),
          ok: sql<number>`(SELECT COUNT(*) FROM ${users} WHERE ${users.tenantId} = ${tenantId} AND ${users.role} = 'owner' AND ${users.disabledAt} IS NULL) > 0`.as("ok"),
        })
        .from(tenants)
        .where(eq(tenants.id, tenantId)),
    ),
    db.delete(invariantGuard).where(and(eq(invariantGuard.invariant, "TENANT_HAS_OWNER"))),
  ] as const;
}

export function isInvariantViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (/CHECK constraint failed: invariant_guard_ok/.test(String((e as Error).message ?? e))) return true;
  }
  return false;
}
