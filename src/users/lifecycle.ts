/**
 * Cutting a member off (disable, remove): the one recipe both use.
 *
 * Threat model: a leaver whose open sessions keep working, an impersonation of or by
 * them that outlives the decision, an invitation they sent or a reset link of theirs
 * that outlives it, a sign-in racing the change, the tenant left without an owner. So,
 * in one D1 batch: the change to the user, every live session of theirs revoked and their
 * session_version bumped (a session created by a racing sign-in is invalid too), every
 * impersonation they take part in ended, every open invitation they sent revoked
 * (./inviter-standing.ts), their unused reset links retired, the tenant still has an
 * enabled owner, and the audit rows; then the cached state of every session touched is
 * rewritten once (D1 first, then KV, through endSessions as force logout does).
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { AuditEvent } from "../audit/service";
import { isInvariantViolation } from "../db/invariants";
import type { User } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { endImpersonationsInvolving } from "../impersonation/access-change";
import { retireResetLinks } from "../account/password-reset";
import { type SessionsEnded, endSessions } from "../sessions/revoke";
import { revokeInvitationsBeyondStanding } from "./inviter-standing";
import { assertTenantKeepsAnOwner } from "./service";

export async function cutOffUser(
  c: Context<AppEnv>,
  target: User,
  options: { reason: "USER_DISABLED" | "USER_REMOVED"; changes: BatchItem<"sqlite">[]; event: AuditEvent },
): Promise<SessionsEnded> {
  const db = c.var.db;
  const now = c.get("now");
  const ending = await endImpersonationsInvolving(db, target.tenantId, target.id, now, options.reason);
  // Disabled (a removed member is disabled too), they can send no invitation at all.
  const invites = revokeInvitationsBeyondStanding(c, { ...target, disabledAt: now }, options.reason);
  let result: SessionsEnded;
  try {
    result = await endSessions(c, {
      tenantId: target.tenantId,
      userId: target.id,
      which: { allBut: null },
      reason: options.reason,
      bumpSessionVersion: true,
      changes: [
        ...options.changes,
        retireResetLinks(db, target.id, now),
        ...invites,
        ...assertTenantKeepsAnOwner(db, target.tenantId),
        ...ending.statements,
      ],
      // The target's own sessions end here, and endSessions writes the end of the
      // impersonations they carried; `ending` adds those of others impersonating the target.
      events: ending.events.filter((e) => e.actorUserId !== target.id),
      // Whoever impersonated the target: their sessions' cached state is rewritten in the same step.
      alsoRefresh: ending.userIds,
      event: (ids) => ({ ...options.event, metadata: { ...options.event.metadata, revokedSessionIds: ids } }),
    });
  } catch (err) {
    const conflict = await ending.conflict(err);
    if (conflict) throw conflict;
    if (isInvariantViolation(err)) throw new ApiError(409, "LAST_OWNER", "The tenant's last enabled owner cannot be disabled or removed");
    throw err;
  }
  return result;
}
