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
 *
 * Threat model: an admin who invites an address they control, then is removed, disabled
 * or demoted, keeping the access through the pending link.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { AuditEvent } from "../audit/service";
import type { Db } from "../db/client";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { type Invitation, ROLES, type Role, type User, invitations } from "../db/schema";
import { ApiError } from "../errors";
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

export type InvitationsWithdrawn = {
  statements: BatchItem<"sqlite">[];
  events: AuditEvent[];
  /** Call with the change's batch error: a 409 if one of their invitations was accepted or sent meanwhile. */
  conflict: (err: unknown) => Promise<ApiError | null>;
};

/**
 * What a change to `after` (the inviter as the change leaves them) adds to its batch: every
 * open invitation they sent that they could no longer send is revoked, one INVITATION_REVOKED
 * row each. The batch aborts if that set changed since it was read (one accepted, or a new
 * one sent by a session not yet told), so the rows say exactly what was revoked.
 */
export async function revokeInvitationsBeyondStanding(db: Db, after: Inviter & Pick<User, "id" | "tenantId">, nowMs: number, cause: StandingLost): Promise<InvitationsWithdrawn> {
  const lost = ROLES.filter((role) => !inviterMaySend(after, role));
  const none: InvitationsWithdrawn = { statements: [], events: [], conflict: async () => null };
  if (lost.length === 0) return none;
  const open = and(eq(invitations.tenantId, after.tenantId), eq(invitations.invitedBy, after.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), inArray(invitations.role, lost));
  const read = () => db.select().from(invitations).where(open);
  const rows = await read();
  const signature = (list: readonly Invitation[]) => list.map((r) => r.id).sort().join(",");
  const ids = rows.map((r) => r.id);
  const revokedNow = ids.length === 0 ? sql`1` : sql`(SELECT COUNT(*) FROM ${invitations} WHERE ${inArray(invitations.id, ids)} AND ${invitations.revokedAt} = ${nowMs}) = ${ids.length}`;
  return {
    statements: [
      ...(ids.length === 0 ? [] : [db.update(invitations).set({ revokedAt: nowMs }).where(and(inArray(invitations.id, ids), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))]),
      ...assertInBatch(db, after.tenantId, "INVITER_STANDING", sql`NOT EXISTS (SELECT 1 FROM ${invitations} WHERE ${open}) AND ${revokedNow}`),
    ],
    events: rows.map((r) => ({
      action: "INVITATION_REVOKED",
      outcome: "SUCCESS",
      targetType: "invitation",
      targetId: r.id,
      before: { email: r.email, role: r.role, invitedBy: r.invitedBy },
      metadata: { reason: "INVITER_CANNOT_SEND", cause },
    })),
    async conflict(err) {
      if (!isInvariantViolation(err) || signature(await read()) === signature(rows)) return null;
      return new ApiError(409, "INVITATION_CONFLICT", "An invitation this member sent was accepted or sent at the same time; nothing was changed, try again");
    },
  };
}
