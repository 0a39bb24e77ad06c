import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { assertInBatch } from "../db/invariants";
import { type Role, type User, ssoIdentities, users } from "../db/schema";
import type { AuthUser } from "../env";
import { ApiError } from "../errors";
import { randomId } from "../lib/crypto";
import { type Permission, mayAssignRole, permissionsOf } from "../lib/permissions";
import { NO_SECOND_FACTOR } from "../stepup/all-factors";

/**
 * A new member's row, as every way of making one fills it in (an accepted invitation, a
 * single sign-on that provisions, SCIM): no second factor, no overrides, not disabled.
 */
export function newUserRow(fields: Pick<User, "tenantId" | "email" | "displayName" | "role" | "passwordHash" | "createdAt"> & Partial<Pick<User, "disabledAt" | "scimExternalId">>): User {
  return { id: randomId("usr_"), sessionVersion: 1, disabledAt: null, removedAt: null, ...NO_SECOND_FACTOR, scimExternalId: null, permissionOverrides: null, ...fields };
}

export function toUserView(u: User) {
  return {
    id: u.id,
    email: u.email,
    displayName: u.displayName,
    role: u.role,
    permissions: permissionsOf(u),
    permissionOverrides: u.permissionOverrides ?? { granted: [], revoked: [] },
    totpEnabled: u.totpEnabled,
    passkeyCount: u.passkeyCount,
    createdAt: new Date(u.createdAt).toISOString(),
    disabledAt: u.disabledAt === null ? null : new Date(u.disabledAt).toISOString(),
  };
}

/**
 * The account an email names: the one member with it who was not removed. A removed
 * member's tombstone keeps its email for the history, but no look-up by email (sign-in,
 * forgot-password, invitations, the operator's first owner) reaches it, and the email can
 * be given to a new account (users_email_current_uq is unique only among these rows).
 */
export function findCurrentUserByEmail(db: Db, email: string) {
  return db.query.users.findFirst({ where: and(eq(users.email, email), isNull(users.removedAt)) });
}

/** The tenant's current members, each with whether single sign-on has linked them to the tenant's identity provider. */
export function listTenantUsers(db: Db, tenantId: string) {
  const ssoLinked = sql<number>`EXISTS (SELECT 1 FROM ${ssoIdentities} WHERE ${ssoIdentities.userId} = ${users.id})`;
  return db
    .select({ user: users, ssoLinked })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), isNull(users.removedAt)))
    .orderBy(asc(users.email))
    .limit(1000);
}

/** A member as the Team page lists them: the user, and how the identity provider knows them (single sign-on, SCIM). */
export function toMemberView({ user, ssoLinked }: Awaited<ReturnType<typeof listTenantUsers>>[number]) {
  // SCIM's: the provider named the member (externalId). A member SSO or SCIM created carries
  // NO_PASSWORD.provisioned alike, so that marker cannot tell them apart.
  return { ...toUserView(user), sso: Boolean(ssoLinked), scim: user.scimExternalId !== null };
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

/**
 * The rule for handing out access, one place for roles and permissions: nobody assigns
 * a role above their own rank (an owner assigns any role, an admin admin or member, a
 * member only member), and nobody grants a permission they do not hold themselves.
 * Taking access away is limited only by rank (assertMayActOn: not from a user who
 * outranks you). So a member granted SETTINGS_SECURITY_EDIT can pass on what they
 * hold, never mint an admin.
 */
export function assertMayAssign(actor: AuthUser, target: Pick<User, "id">, change: { role?: Role; grant?: readonly Permission[] }): void {
  const refuse = (message: string) => new ApiError(403, "FORBIDDEN", message, { audit: { targetType: "user", targetId: target.id } });
  if (change.role !== undefined && !mayAssignRole(actor.role, change.role)) {
    throw refuse(`You cannot assign the ${change.role} role: it is above your own (${actor.role})`);
  }
  const held = permissionsOf(actor);
  const missing = (change.grant ?? []).filter((p) => !held.includes(p));
  if (missing.length > 0) throw refuse(`You cannot grant permissions you do not hold: ${missing.join(", ")}`);
}

