/**
 * Ending sessions: the one recipe every caller uses (sign-out, revoke one, revoke all
 * others, force logout, and whatever ends sessions next).
 *
 * Threat model: a session that should be dead keeps working (the cache not told), an
 * impersonation that outlives the session carrying it without a trace, a revocation
 * without its audit row or an audit row without its revocation. So, in this order:
 * the revocation statements, the caller's SUCCESS row and an IMPERSONATION_ENDED row
 * for every impersonation an ended session carried commit in one D1 batch; then the
 * cached state of the user's sessions is rewritten (D1 first, then KV). If KV refuses,
 * the sessions are still ended: the outcome's `propagation` says it is delayed, for the
 * caller's success answer (src/propagation.ts), never an error.
 */
import { and, eq, gt, inArray, isNull, ne, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import type { Db } from "../db/client";
import { userSessions, users } from "../db/schema";
import type { AppEnv, AuthSession } from "../env";
import { type Propagation, propagate, worstOf } from "../propagation";
import { impersonationEndedEvent } from "../impersonation/service";
import { impersonationOf } from "./cache";
import type { RevokeReason } from "./views";
import { listUserSessions, refreshCachedSessions } from "./service";

export type { RevokeReason } from "./views";

/** What ending a session needs to know of it: a D1 row or the edge check's copy (its tenant when not the call's). */
export type EndingSession = Pick<AuthSession, "id" | "userId" | "impersonation"> & { tenantId?: string };

export type EndSessionsOptions = {
  tenantId: string;
  userId: string;
  /** One session of the user, these sessions (of any users: refresh the others' with alsoRefresh), or every live session of the user but one (`allBut: null`: all of them). */
  which: { session: EndingSession } | { sessions: readonly EndingSession[] } | { allBut: string | null };
  reason: RevokeReason;
  /** Also invalidate every session the user has (force logout): bumps users.session_version. */
  bumpSessionVersion?: boolean;
  /** The caller's SUCCESS row, given the ids of the sessions that end. */
  event: (endedIds: string[]) => AuditEvent;
  /** Other changes that commit in the same batch. */
  changes?: BatchItem<"sqlite">[];
  /** Their audit rows (beyond the caller's SUCCESS row), in the same batch. */
  events?: AuditEvent[];
  /** Other users whose cached state those changes touch (e.g. whoever impersonated the user): refreshed in the same step. */
  alsoRefresh?: readonly string[];
};

/** Which sessions ended, and whether every location has been told yet. */
export type SessionsEnded = { endedIds: string[]; propagation: Propagation };

export async function endSessions(c: Context<AppEnv>, options: EndSessionsOptions): Promise<SessionsEnded> {
  const db = c.var.db;
  const now = c.get("now");
  const { which, reason, userId } = options;
  const ending: EndingSession[] =
    "session" in which
      ? [which.session]
      : "sessions" in which
        ? [...which.sessions]
        : (await listUserSessions(db, options.tenantId, userId, now))
          .filter((s) => s.revokedAt === null && s.id !== which.allBut)
          .map((s) => ({ id: s.id, userId: s.userId, impersonation: impersonationOf(s) }));
  const endedIds = ending.map((s) => s.id);
  const statements = [
    ...("allBut" in which ? [revokeAllBut(db, userId, which.allBut, reason, now)] : revokeListed(db, endedIds, reason, now)),
    ...(options.bumpSessionVersion ? [db.update(users).set({ sessionVersion: sql`${users.sessionVersion} + 1` }).where(eq(users.id, userId))] : []),
  ];
  await commitWithAudit(c, [...(options.changes ?? []), ...statements], [
    options.event(endedIds),
    ...(options.events ?? []),
    // In the tenant's log even on a route without a signed-in user (a password reset link).
    ...ending.flatMap((s) => impersonationEndedEvent(s, reason === "LOGOUT" ? "LOGOUT" : "SESSION_REVOKED").map((e) => ({ ...e, tenantId: s.tenantId ?? options.tenantId }))),
  ]);
  const propagation = await refreshCachedSessions(c, [userId, ...(options.alsoRefresh ?? [])]);
  return { endedIds, propagation };
}

/** D1 binds at most 100 parameters per statement: a long list of ids is revoked in several statements of the one batch. */
const IDS_PER_STATEMENT = 90;

function revokeListed(db: Db, sessionIds: readonly string[], reason: RevokeReason, nowMs: number) {
  const chunks = Array.from({ length: Math.ceil(sessionIds.length / IDS_PER_STATEMENT) }, (_, i) => sessionIds.slice(i * IDS_PER_STATEMENT, (i + 1) * IDS_PER_STATEMENT));
  return chunks.map((ids) =>
    db
      .update(userSessions)
      .set({ revokedAt: nowMs, revokeReason: reason })
      .where(and(inArray(userSessions.id, ids), isNull(userSessions.revokedAt))),
  );
}

function revokeAllBut(db: Db, userId: string, keepSessionId: string | null, reason: RevokeReason, nowMs: number) {
  const live = and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt), gt(userSessions.expiresAt, nowMs));
  return db
    .update(userSessions)
    .set({ revokedAt: nowMs, revokeReason: reason })
    .where(keepSessionId === null ? live : and(live, ne(userSessions.id, keepSessionId)));
}

/**
 * Ends every live session of a tenant at once (the operator disabling it): one UPDATE in
 * one batch with `changes` and the caller's row (plus IMPERSONATION_ENDED rows), then the
 * cached state of each affected user, as endSessions does for one user. Events name the
 * tenant themselves: the caller may have no signed-in user (the operator API).
 */
export async function endTenantSessions(
  c: Context<AppEnv>,
  options: { tenantId: string; reason: RevokeReason; event: (endedIds: string[]) => AuditEvent; changes?: BatchItem<"sqlite">[] },
): Promise<SessionsEnded> {
  const db = c.var.db;
  const now = c.get("now");
  const live = and(eq(userSessions.tenantId, options.tenantId), isNull(userSessions.revokedAt), gt(userSessions.expiresAt, now));
  const ending = await db.select().from(userSessions).where(live);
  const endedIds = ending.map((s) => s.id);
  await commitWithAudit(c, [...(options.changes ?? []), db.update(userSessions).set({ revokedAt: now, revokeReason: options.reason }).where(live)], [
    { ...options.event(endedIds), tenantId: options.tenantId },
    ...ending.flatMap((s) => impersonationEndedEvent({ id: s.id, userId: s.userId, impersonation: impersonationOf(s) }, "SESSION_REVOKED")).map((e) => ({ ...e, tenantId: options.tenantId })),
  ]);
  // Read back what the batch ended: a session that started between the read above and the
  // batch was revoked too, and its cached copy must be rewritten as well. The batch has
  // committed, so this read is part of the propagation: its failure delays it, never errs.
  let ended: { userId: string }[] = [];
  const readBack = await propagate("sessions a tenant-wide batch ended", async () => {
    ended = await db
      .select({ userId: userSessions.userId })
      .from(userSessions)
      .where(and(eq(userSessions.tenantId, options.tenantId), eq(userSessions.revokedAt, now), eq(userSessions.revokeReason, options.reason)));
  });
  const propagation = worstOf(readBack, await refreshCachedSessions(c, [...ending, ...ended].map((s) => s.userId)));
  return { endedIds, propagation };
}
