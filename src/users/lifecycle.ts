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
 *
 * The three changes an admin makes in the panel (src/users/lifecycle-routes.ts) and SCIM
 * makes for the tenant's identity provider (src/scim/users.ts) are these functions, so both
 * take the same path: disableMember, enableMember, removeMember. Each takes the caller's own
 * statements and audit rows along, into the same batch.
 */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { isInvariantViolation } from "../db/invariants";
import { type User, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { endImpersonationsInvolving } from "../impersonation/access-change";
import { retireResetLinks } from "../account/password-reset";
import { NO_PASSWORD } from "../lib/password";
import type { Propagation } from "../propagation";
import { type SessionsEnded, endSessions } from "../sessions/revoke";
import { refreshCachedSessions } from "../sessions/service";
import { NO_SECOND_FACTOR, removeSecondFactors } from "../stepup/all-factors";
import { revokeInvitationsBeyondStanding } from "./inviter-standing";
import { assertTenantKeepsAnOwner } from "./service";

/** What a caller adds to a lifecycle change's batch: its own statements and audit rows. */
type AlongWith = { changes?: BatchItem<"sqlite">[]; events?: AuditEvent[] };

export async function cutOffUser(
  c: Context<AppEnv>,
  target: User,
  options: { reason: "USER_DISABLED" | "USER_REMOVED"; changes: BatchItem<"sqlite">[]; event: AuditEvent; events?: AuditEvent[] },
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
      events: [...(options.events ?? []), ...ending.events.filter((e) => e.actorUserId !== target.id)],
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

/** Disables `target` (enabled): every session ends at once, audited USER_DISABLED. */
export function disableMember(c: Context<AppEnv>, target: User, along: AlongWith = {}): Promise<SessionsEnded> {
  return cutOffUser(c, target, {
    reason: "USER_DISABLED",
    changes: [...(along.changes ?? []), c.var.db.update(users).set({ disabledAt: c.get("now") }).where(and(eq(users.id, target.id), isNull(users.disabledAt)))],
    event: { action: "USER_DISABLED", outcome: "SUCCESS", targetType: "user", targetId: target.id, before: { disabled: false }, after: { disabled: true } },
    events: along.events ?? [],
  });
}

/** Enables `target` (disabled), audited USER_ENABLED. The sessions the disable ended stay ended (revoked, their session_version old): the member signs in again. */
export async function enableMember(c: Context<AppEnv>, target: User, along: AlongWith = {}): Promise<Propagation> {
  const enable = c.var.db.update(users).set({ disabledAt: null }).where(and(eq(users.id, target.id), isNotNull(users.disabledAt)));
  await commitWithAudit(c, [...(along.changes ?? []), enable], [
    { action: "USER_ENABLED", outcome: "SUCCESS", targetType: "user", targetId: target.id, before: { disabled: true }, after: { disabled: false } },
    ...(along.events ?? []),
  ]);
  return refreshCachedSessions(c, target.id);
}

/**
 * Removes `target` from the tenant, audited USER_REMOVED. "Remove" keeps the row as a
 * tombstone (see users.removedAt in the schema): sessions, recovery codes and reset links
 * reference it by foreign key and the audit chain names its id, so its history stays
 * attributable (the row's email and name, and the USER_REMOVED row's `before`). What it
 * could still be used for goes: it is disabled, its password, second factor, recovery codes
 * and extra permissions are wiped (its reset links and the invitations it sent go in
 * cutOffUser), and every lookup of the tenant's users skips it (not found, like a stranger).
 */
export function removeMember(c: Context<AppEnv>, target: User): Promise<SessionsEnded> {
  const db = c.var.db;
  const now = c.get("now");
  return cutOffUser(c, target, {
    reason: "USER_REMOVED",
    changes: [
      db
        .update(users)
        .set({ removedAt: now, disabledAt: sql`coalesce(${users.disabledAt}, ${now})`, passwordHash: NO_PASSWORD.removed, permissionOverrides: null, ...NO_SECOND_FACTOR })
        .where(and(eq(users.id, target.id), isNull(users.removedAt))),
      ...removeSecondFactors(db, target.id, { userRow: false }),
    ],
    event: {
      action: "USER_REMOVED",
      outcome: "SUCCESS",
      targetType: "user",
      targetId: target.id,
      before: { email: target.email, displayName: target.displayName, role: target.role, disabled: target.disabledAt !== null },
    },
  });
}
