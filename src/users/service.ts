import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { assertInBatch } from "../db/invariants";
import { type User, users } from "../db/schema";
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
 * Batch items asserting that the tenant still has an active owner after the batch's
 * other statements ran: concurrent demotions of the last two owners cannot both commit.
 */
export function assertTenantKeepsAnOwner(db: Db, tenantId: string) {
  return assertInBatch(
    db,
    tenantId,
    "TENANT_HAS_OWNER",
    sql`(SELECT COUNT(*) FROM ${users} WHERE ${users.tenantId} = ${tenantId} AND ${users.role} = 'owner' AND ${users.disabledAt} IS NULL) > 0`,
  );
}
