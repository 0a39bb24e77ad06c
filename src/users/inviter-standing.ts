/**
 * An invitation stands only while the person who sent it could still send it: the inviter
 * is still in the tenant (not removed, not disabled), holds the permission to invite and
 * ranks at least as high as the invited role (mayInvite, src/lib/permissions.ts, the rule the
 * invite route applies). The operator's invitation of a tenant's first owner has no
 * inviter: it stands on the tenant alone, which startSession checks at accept.
 *
 * The owner of the rule is the check at accept (inviterStillStands, called by
 * src/auth/accept-invitation.ts): access is granted there, against the inviter as they
 * are now, so it covers every way of losing the right to invite, including invitations
 * sent before a change that did not revoke them. The revocation when the inviter loses
 * it (revokeInvitationsBeyondStanding: removal, disabling, a role or permission change)
 * is still needed, with the same predicate: its batch marks the invitations revoked, so
 * an accept already past its check when the change commits is stopped by its own batch
 * (consumeInvitation takes only an invitation not revoked), and the tenant's list and
 * audit log say the invitations are gone and why, instead of links that look pending.
 * The revocation is a condition evaluated in the change's batch, not a list read before
 * it, so an inviter sending invitations meanwhile cannot make the change abort.
 *
 * Threat model: an admin who invites an address they control, then is removed, disabled
 * or demoted, keeping the access through the pending link.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditRowSelectList, buildAuditRow } from "../audit/service";
import type { Db } from "../db/client";
import { type Invitation, ROLES, type Role, type User, auditOutbox, invitations } from "../db/schema";
import type { AppEnv } from "../env";
import { mayInvite } from "../lib/permissions";
import { findTenantUser } from "../sessions/service";

type Inviter = Pick<User, "role" | "permissionOverrides" | "disabledAt">;

/**
 * Could `inviter` (as they are now) send an invitation to `role`? An unknown inviter
 * cannot; a removed one is not found (findTenantUser), and is disabled too.
 */
export function inviterMaySend(inviter: Inviter | undefined, role: Role): boolean {
  return inviter !== undefined && inviter.disabledAt === null && mayInvite(inviter, role);
}

/** At accept: does the invitation's inviter still stand behind it? An operator's invitation (no inviter) does. */
export async function inviterStillStands(db: Db, invitation: Invitation): Promise<boolean> {
  if (invitation.invitedBy === null) return true;
  return inviterMaySend(await findTenantUser(db, invitation.tenantId, invitation.invitedBy), invitation.role);
}

/** Why the invitations went: the change to their inviter that took away the right to send them. */
export type StandingLost = "USER_REMOVED" | "USER_DISABLED" | "USER_ROLE_UPDATED" | "USER_PERMISSIONS_UPDATED";

/**
 * What a change to `after` (the inviter as the change leaves them) adds to its batch: every
 * open invitation they sent that they could no longer send is revoked, one INVITATION_REVOKED
 * row each. Both statements select by the same condition, evaluated when the batch runs (the
 * rows first, then the revocation), so they name exactly the invitations revoked: one sent
 * by a session not yet told is revoked with the rest, one accepted meanwhile is not open.
 * Nothing read before the batch can be out of date, so the change never has to abort.
 */
export function revokeInvitationsBeyondStanding(c: Context<AppEnv>, after: Inviter & Pick<User, "id" | "tenantId">, cause: StandingLost): BatchItem<"sqlite">[] {
  const lost = ROLES.filter((role) => !inviterMaySend(after, role));
  if (lost.length === 0) return [];
  const db = c.var.db;
  const open = and(eq(invitations.tenantId, after.tenantId), eq(invitations.invitedBy, after.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), inArray(invitations.role, lost));
  const row = buildAuditRow(c, { tenantId: after.tenantId, action: "INVITATION_REVOKED", outcome: "SUCCESS", targetType: "invitation", metadata: { reason: "INVITER_CANNOT_SEND", cause } });
  if (!row) throw new Error("an inviter always names a tenant");
  // One row per invitation, in id order (their outbox positions too), ids from one random stem.
  const nth = sql`ROW_NUMBER() OVER (ORDER BY ${invitations.id})`;
  const perInvitation = auditRowSelectList(row, {
    id: sql`${row.id} || '_' || ${nth}`,
    targetId: sql`${invitations.id}`,
    before: sql`json_object('email', ${invitations.email}, 'role', ${invitations.role}, 'invitedBy', ${invitations.invitedBy})`,
  });
  return [
    db.insert(auditOutbox).select(sql`SELECT ${perInvitation} FROM ${invitations} WHERE ${open} ORDER BY ${invitations.id}`),
    db.update(invitations).set({ revokedAt: c.get("now") }).where(open),
  ];
}
