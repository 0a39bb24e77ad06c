/**
 * Impersonation and access changes. The rank rule (an admin impersonates only users of
 * strictly lower rank) is checked when an impersonation starts; a later role or
 * permission change of either party would leave it standing on a check that no longer
 * holds. So such a change ends, in its own D1 batch, every impersonation its user takes
 * part in (as the admin or as the impersonated user), audited IMPERSONATION_ENDED with
 * reason ROLE_CHANGED, and the request path stays free of D1.
 *
 * Races: a start asserts in its batch that both parties' access is still what it
 * checked (accessUnchanged), and a change asserts that no impersonation involving its
 * user is left (one that started between its read and its batch aborts it: 409).
 */
import { type SQL, and, eq, gt, inArray, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { AuditEvent } from "../audit/service";
import type { Db } from "../db/client";
import { failedWith } from "../db/errors";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import { type Role, eventDedupe, userSessions, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { Propagation } from "../propagation";
import { refreshCachedSessions, toAuthSessionFields } from "../sessions/service";
import { type EndReason, clearedImpersonation, impersonationEndKey, impersonationEndedEvent } from "./service";

/** One user's role and permission overrides as text: what the rank and permission checks read. */
const accessText = sql<string>`${users.role} || ':' || ifnull(${users.permissionOverrides}, '')`;
const accessOf = (userId: string): SQL => sql`(SELECT ${accessText} FROM ${users} WHERE ${users.id} = ${userId})`;

export type Access = { role: Role; fingerprint: string };

/** These users' roles and access fingerprints, read from D1 in one query, in the order given. */
export async function readAccess(db: Db, userIds: readonly string[]): Promise<(Access | null)[]> {
  const rows = await db.select({ id: users.id, role: users.role, fingerprint: accessText }).from(users).where(inArray(users.id, [...userIds]));
  return userIds.map((id) => rows.find((r) => r.id === id) ?? null);
}

/** Batch items asserting that these users' access is still what readAccess returned. */
export function accessUnchanged(db: Db, tenantId: string, checked: readonly { userId: string; access: Access }[]) {
  const holds = sql.join(
    checked.map(({ userId, access }) => sql`${accessOf(userId)} IS ${access.fingerprint}`),
    sql` AND `,
  );
  return assertInBatch(db, tenantId, "ACCESS_UNCHANGED", holds);
}

const involving = (tenantId: string, userId: string, nowMs: number) =>
  and(
    eq(userSessions.tenantId, tenantId),
    isNotNull(userSessions.impersonatedUserId),
    isNull(userSessions.revokedAt),
    gt(userSessions.expiresAt, nowMs),
    or(eq(userSessions.userId, userId), eq(userSessions.impersonatedUserId, userId)),
  );

export type ImpersonationEnding = {
  statements: BatchItem<"sqlite">[];
  events: AuditEvent[];
  /** Call with the change's batch error: a 409 if an impersonation started or ended meanwhile. */
  conflict: (err: unknown) => Promise<ApiError | null>;
  /** The users whose cached state the batch touches: the user and whoever impersonated them. */
  userIds: string[];
  /** After the batch committed: rewrite the KV entries of every session it touched (delayed, not an error, if KV refuses). */
  syncCache: (c: Context<AppEnv>) => Promise<Propagation>;
};

/**
 * What a role or permission change of `userId` (or their disabling or removal, with
 * that `reason`) adds to its batch to end their impersonations.
 */
export async function endImpersonationsInvolving(db: Db, tenantId: string, userId: string, nowMs: number, reason: EndReason = "ROLE_CHANGED"): Promise<ImpersonationEnding> {
  const read = async () => (await db.select().from(userSessions).where(involving(tenantId, userId, nowMs))).map(toAuthSessionFields);
  const sessions = await read();
  const signature = (list: typeof sessions) => list.map((s) => impersonationEndKey(s)).sort().join(",");
  const statements: BatchItem<"sqlite">[] = [];
  for (const s of sessions) {
    if (!s.impersonation) continue;
    // The same once-only key as every other way an impersonation ends.
    statements.push(db.insert(eventDedupe).values({ key: impersonationEndKey(s), expiresAt: s.impersonation.expiresAt + 86_400_000 }));
    statements.push(
      db
        .update(userSessions)
        .set(clearedImpersonation)
        .where(and(eq(userSessions.id, s.id), eq(userSessions.impersonationStartedAt, s.impersonation.startedAt))),
    );
  }
  statements.push(
    ...assertInBatch(db, tenantId, "NO_IMPERSONATION_LEFT", sql`NOT EXISTS (SELECT 1 FROM ${userSessions} WHERE ${involving(tenantId, userId, nowMs)})`),
  );
  const userIds = [...new Set([userId, ...sessions.map((s) => s.userId)])];
  return {
    statements,
    userIds,
    events: sessions.flatMap((s) => impersonationEndedEvent(s, reason)),
    async conflict(err) {
      if (!isInvariantViolation(err) && !failedWith(err, /UNIQUE constraint failed: event_dedupe/)) return null;
      if (signature(await read()) === signature(sessions)) return null;
      return new ApiError(409, "IMPERSONATION_CONFLICT", "An impersonation involving this user started or ended at the same time; nothing was changed, try again");
    },
    syncCache: (c) => refreshCachedSessions(c, userIds),
  };
}
