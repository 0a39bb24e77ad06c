/**
 * What SCIM does to a tenant's members, through the paths the panel uses: creating one
 * (SCIM_USER_CREATED), changing their name or externalId (SCIM_USER_UPDATED), disabling and
 * enabling them (src/users/lifecycle.ts: USER_DISABLED ends every session at once, through
 * cutOffUser; USER_ENABLED) and removing them (the lifecycle's removal, USER_REMOVED). Each
 * change commits with its audit rows in one batch; the rows name the SCIM token as actor
 * (auditActor, ./token.ts).
 *
 * Threat model: a provider's token used to reach above its station. The rank rule: SCIM
 * acts only on members whose role it could have given them (SSO_PROVISIONED_ROLES: member,
 * admin), so it never creates an owner and never changes, disables or removes one (403,
 * audited FAIL). A member it creates has no password (NO_PASSWORD.provisioned, which
 * verifyPassword refuses): they sign in through the tenant's identity provider.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Context } from "hono";
import type { AuditEvent } from "../audit/service";
import { commitWithAudit } from "../audit/service";
import type { Db } from "../db/client";
import { failedWith } from "../db/errors";
import { type User, ssoConnections, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { NO_PASSWORD } from "../lib/password";
import { refreshCachedSessions } from "../sessions/service";
import { SSO_PROVISIONED_ROLES, type SsoProvisionedRole } from "../sso/vocabulary";
import { disableMember, enableMember, removeMember } from "../users/lifecycle";
import { findCurrentUserByEmail, newUserRow } from "../users/service";
import type { ScimAttributes } from "./attributes";

/**
 * The role SCIM gives a member it creates: the SSO connection's default role, member without
 * one. (Read here from sso_connections directly; the SSO connection's own store takes it over.)
 */
async function provisionedRole(db: Db, tenantId: string): Promise<SsoProvisionedRole> {
  const connection = await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.tenantId, tenantId), columns: { defaultRole: true } });
  return connection?.defaultRole ?? "member";
}

const mayProvision = (role: User["role"]) => (SSO_PROVISIONED_ROLES as readonly string[]).includes(role);

/** The rank rule: 403 for a member SCIM may not act on (an owner). */
function assertScimMayActOn(target: User): void {
  if (!mayProvision(target.role)) {
    throw new ApiError(403, "FORBIDDEN", "SCIM never changes, disables or removes an owner: an owner does that in Gatehouse", {
      audit: { targetType: "user", targetId: target.id, failureReason: "SCIM_TARGET_IS_OWNER" },
    });
  }
}

const taken = () => new ApiError(409, "USER_EXISTS", "This userName is already a Gatehouse member");

export function scimAttributesOf(user: User): ScimAttributes {
  return { userName: user.email, displayName: user.displayName, externalId: user.scimExternalId, active: user.disabledAt === null };
}

/** Creates a member from a POST /Users: the new user's id. */
export async function createScimMember(c: Context<AppEnv>, tenantId: string, wanted: ScimAttributes): Promise<string> {
  const db = c.var.db;
  if (await findCurrentUserByEmail(db, wanted.userName)) throw taken();
  const now = c.get("now");
  const user = newUserRow({
    tenantId,
    email: wanted.userName,
    displayName: wanted.displayName,
    role: await provisionedRole(db, tenantId),
    passwordHash: NO_PASSWORD.provisioned,
    createdAt: now,
    disabledAt: wanted.active ? null : now,
    scimExternalId: wanted.externalId,
  });
  try {
    await commitWithAudit(c, [db.insert(users).values(user)], {
      action: "SCIM_USER_CREATED",
      outcome: "SUCCESS",
      targetType: "user",
      targetId: user.id,
      after: { email: user.email, displayName: user.displayName, role: user.role, externalId: user.scimExternalId, active: wanted.active },
    });
  } catch (err) {
    // Someone else took the email between the check and the batch.
    if (failedWith(err, /UNIQUE constraint failed: users\.email/)) throw taken();
    throw err;
  }
  return user.id;
}

/**
 * Makes `target` what `wanted` says (a PUT or a PATCH): the name and externalId in one
 * SCIM_USER_UPDATED row, and `active` through the lifecycle's disable or enable, all in
 * one batch. Nothing to change writes nothing.
 */
export async function updateScimMember(c: Context<AppEnv>, target: User, wanted: ScimAttributes): Promise<void> {
  assertScimMayActOn(target);
  if (wanted.userName !== target.email) throw new ApiError(400, "SCIM_MUTABILITY", "A member's userName (their email) cannot be changed");
  const db = c.var.db;
  const before = scimAttributesOf(target);
  const changed = {
    ...(wanted.displayName !== before.displayName ? { displayName: wanted.displayName } : {}),
    ...(wanted.externalId !== before.externalId ? { scimExternalId: wanted.externalId } : {}),
  };
  const along =
    Object.keys(changed).length === 0
      ? { changes: [], events: [] }
      : {
          // Still a member SCIM may act on when the batch runs (not promoted meanwhile).
          changes: [db.update(users).set(changed).where(and(eq(users.id, target.id), isNull(users.removedAt), inArray(users.role, SSO_PROVISIONED_ROLES)))],
          events: [updatedEvent(target.id, before, wanted)],
        };
  if (wanted.active !== before.active) {
    if (wanted.active) await enableMember(c, target, along);
    else await disableMember(c, target, along);
    return;
  }
  if (along.changes.length === 0) return;
  await commitWithAudit(c, along.changes, along.events);
  // The display name is part of the cached session state (and the product's assertion).
  await refreshCachedSessions(c, target.id);
}

function updatedEvent(targetId: string, before: ScimAttributes, after: ScimAttributes): AuditEvent {
  const pick = (s: ScimAttributes) => ({
    ...(after.displayName !== before.displayName ? { displayName: s.displayName } : {}),
    ...(after.externalId !== before.externalId ? { externalId: s.externalId } : {}),
  });
  return { action: "SCIM_USER_UPDATED", outcome: "SUCCESS", targetType: "user", targetId, before: pick(before), after: pick(after) };
}

/** DELETE /Users/:id: removes the member as the panel does. */
export async function removeScimMember(c: Context<AppEnv>, target: User): Promise<void> {
  assertScimMayActOn(target);
  await removeMember(c, target);
}
