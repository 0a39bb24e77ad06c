/**
 * Impersonation: an admin acts as a lower-ranked user of the same tenant, for a
 * bounded time, with every audit row naming the real admin.
 *
 * Threat model: an admin who uses impersonation to escalate (impersonating a peer or
 * an owner, chaining into further impersonations, changing the target's credentials),
 * impersonation outliving its purpose (time limit, ends with the admin's session),
 * and logs that lose the real actor (the shared audit primitive reads `actor`).
 * The state lives on the admin's own session row, so it dies with that session and
 * never appears in the target's session list.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import type { Context } from "hono";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { parseConfig } from "../config";
import { failedWith } from "../db/errors";
import { eventDedupe, userSessions } from "../db/schema";
import type { AppEnv, AuthSession, Bindings } from "../env";
import { PROPAGATED, type Propagation } from "../propagation";
import { refreshCachedSessions } from "../sessions/service";

/** Longest an impersonation lasts (IMPERSONATION_MAX_SECONDS, validated by parseConfig). */
export function impersonationMaxSeconds(env: Bindings): number {
  return parseConfig(env).impersonationMaxSeconds;
}

export type EndReason = "EXIT" | "EXPIRED" | "LOGOUT" | "SESSION_REVOKED" | "TARGET_UNAVAILABLE" | "ROLE_CHANGED" | "USER_DISABLED" | "USER_REMOVED";

type Ending = Pick<AuthSession, "id" | "impersonation">;

/** The once-only key of one impersonation's end: whoever ends it first wins, the others' batches fail. */
export const impersonationEndKey = (session: Ending) => `impersonation-end:${session.id}:${session.impersonation?.startedAt ?? ""}`;

export const clearedImpersonation = { impersonatedUserId: null, impersonationReason: null, impersonationStartedAt: null, impersonationExpiresAt: null };

/** The audit row that records the end of `session`'s impersonation, if it has one. */
export function impersonationEndedEvent(session: Pick<AuthSession, "id" | "userId" | "impersonation">, reason: EndReason): AuditEvent[] {
  if (!session.impersonation) return [];
  return [
    {
      action: "IMPERSONATION_ENDED",
      outcome: "SUCCESS",
      actorUserId: session.userId,
      targetType: "user",
      targetId: session.impersonation.userId,
      metadata: { reason, sessionId: session.id, startedAt: new Date(session.impersonation.startedAt).toISOString() },
    },
  ];
}

/**
 * Ends the session's impersonation in one batch with its audit row. The dedupe key
 * makes the end happen once: a concurrent second ender's batch fails as a whole.
 */
export async function endImpersonation(c: Context<AppEnv>, session: AuthSession, reason: EndReason): Promise<Propagation> {
  if (!session.impersonation) return PROPAGATED;
  const db = c.var.db;
  try {
    await commitWithAudit(
      c,
      [
        db.insert(eventDedupe).values({ key: impersonationEndKey(session), expiresAt: session.impersonation.expiresAt + 86_400_000 }),
        db
          .update(userSessions)
          .set(clearedImpersonation)
          .where(and(eq(userSessions.id, session.id), isNotNull(userSessions.impersonatedUserId))),
      ],
      impersonationEndedEvent(session, reason),
    );
  } catch (err) {
    // Another request ended it first (the dedupe key exists): ended once, as it should be.
    if (!failedWith(err, /UNIQUE constraint failed: event_dedupe/)) throw err;
  }
  return refreshCachedSessions(c, session.userId);
}
