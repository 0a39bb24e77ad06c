/**
 * KV copy of what the per-request check needs: the session's security fields and
 * its user's (role, session_version, disabled). One key per session, so a hot
 * request costs one KV read and no D1 query. Writers change D1 first, then rewrite
 * the entry; entries live at most CACHE_TTL_SECONDS; routes guarded by step-up re-check
 * D1 regardless. How stale an entry may be, where: docs/consistency.md.
 */
import { and, eq, gt, gte, isNull, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { alias } from "drizzle-orm/sqlite-core";
import { type User, type UserSession, userSessions, users } from "../db/schema";
import type { AuthSession, AuthUser } from "../env";

export const CACHE_TTL_SECONDS = 300;
const KV_MIN_TTL_SECONDS = 60; // KV rejects shorter expirationTtl values.

/**
 * In-isolate copy of recently read entries, so a busy isolate does not pay a KV read
 * per request. Staleness bound: an entry is trusted for at most LOCAL_CACHE_MS after
 * it was read or written. A revocation handled by this isolate updates the copy at
 * once; one handled by another isolate at this location is seen within a second.
 */
export const LOCAL_CACHE_MS = 1000;
const LOCAL_CACHE_MAX_ENTRIES = 10_000;
const local = new Map<string, { state: AuthState; storedAt: number }>();

function remember(state: AuthState, nowMs: number): void {
  if (local.size >= LOCAL_CACHE_MAX_ENTRIES) local.delete(local.keys().next().value as string);
  local.delete(state.session.id); // re-insert: Map order is the eviction order
  local.set(state.session.id, { state, storedAt: nowMs });
}

/**
 * `user` is the session's own (real) user; `impersonatedUser` whom they act as, if anyone.
 * `readAt`: when this state was read from D1 (a session snapshot built from it is trusted
 * for at most SNAPSHOT_MAX_AGE_MS from then; src/sessions/snapshot.ts).
 */
export type AuthState = { session: AuthSession; user: AuthUser; impersonatedUser: AuthUser | null; readAt?: number };

const keyOf = (sessionId: string) => `session:${sessionId}`;

export async function readCachedState(kv: KVNamespace, sessionId: string, nowMs: number): Promise<AuthState | null> {
  const hit = local.get(sessionId);
  const age = hit ? nowMs - hit.storedAt : Number.POSITIVE_INFINITY;
  if (hit && age >= 0 && age < LOCAL_CACHE_MS) return hit.state;
  const state = await kv.get<AuthState>(keyOf(sessionId), "json");
  if (state) remember(state, nowMs);
  else local.delete(sessionId);
  return state;
}

export async function writeCachedState(kv: KVNamespace, state: AuthState, nowMs: number): Promise<void> {
  const untilExpiry = Math.ceil((state.session.expiresAt - nowMs) / 1000);
  const ttl = Math.max(KV_MIN_TTL_SECONDS, Math.min(CACHE_TTL_SECONDS, untilExpiry));
  remember(state, nowMs);
  await kv.put(keyOf(state.session.id), JSON.stringify(state), { expirationTtl: ttl });
}

const impersonated = alias(users, "impersonated");

/** One query: the session, its user, and the user it impersonates (if any). */
export async function loadStateFromDb(db: Db, sessionId: string, nowMs?: number): Promise<AuthState | null> {
  const rows = await db
    .select({ session: userSessions, user: users, impersonated })
    .from(userSessions)
    .innerJoin(users, eq(users.id, userSessions.userId))
    .leftJoin(impersonated, eq(impersonated.id, userSessions.impersonatedUserId))
    .where(eq(userSessions.id, sessionId))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  return { ...toAuthState(row.session, row.user, row.impersonated), ...(nowMs === undefined ? {} : { readAt: nowMs }) };
}

export function toAuthUser(user: User): AuthUser {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    sessionVersion: user.sessionVersion,
    disabledAt: user.disabledAt,
    totpEnabled: user.totpEnabled,
    passkeyCount: user.passkeyCount,
    permissionOverrides: user.permissionOverrides,
  };
}

/** The one mapping of a session row's impersonation columns to the state the edge check keeps. */
export function impersonationOf(session: UserSession): AuthSession["impersonation"] {
  return session.impersonatedUserId && session.impersonationStartedAt !== null && session.impersonationExpiresAt !== null
    ? {
        userId: session.impersonatedUserId,
        reason: session.impersonationReason ?? "",
        startedAt: session.impersonationStartedAt,
        expiresAt: session.impersonationExpiresAt,
      }
    : null;
}

export function toAuthState(session: UserSession, user: User, impersonatedUser: User | null = null): AuthState {
  const impersonation = impersonationOf(session);
  return {
    session: {
      id: session.id,
      tenantId: session.tenantId,
      userId: session.userId,
      tokenHash: session.tokenHash,
      sessionVersion: session.sessionVersion,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      expiresAt: session.expiresAt,
      revokedAt: session.revokedAt,
      revokeReason: session.revokeReason,
      amr: session.metadata?.amr ?? ["pwd"],
      impersonation,
    },
    user: toAuthUser(user),
    impersonatedUser: impersonation && impersonatedUser ? toAuthUser(impersonatedUser) : null,
  };
}

/**
 * Rewrites the KV entry of every live session of a user from D1, after a change to
 * the user (role, session_version, disabled) or to their sessions was committed.
 */
export async function refreshUserSessionsInCache(
  db: Db,
  kv: KVNamespace,
  userId: string,
  nowMs: number,
): Promise<{ user: AuthUser; states: AuthState[]; refused: unknown[] } | null> {
  const user = await db.query.users.findFirst({ where: eq(users.id, userId) });
  if (!user) return null;
  const rows = await db
    .select({ session: userSessions, impersonated })
    .from(userSessions)
    .leftJoin(impersonated, eq(impersonated.id, userSessions.impersonatedUserId))
    .where(
      and(
        eq(userSessions.userId, userId),
        gt(userSessions.expiresAt, nowMs),
        // Sessions revoked longer ago than an entry lives have no live entry to fix.
        or(isNull(userSessions.revokedAt), gte(userSessions.revokedAt, nowMs - CACHE_TTL_SECONDS * 1000)),
      ),
    );
  const states = rows.map((r) => ({ ...toAuthState(r.session, user, r.impersonated), readAt: nowMs }));
  // An entry KV refuses (a refill or a last-seen refresh wrote it within the second) is
  // answered, not thrown: the caller still records the change for the tenant's edge document.
  const written = await Promise.allSettled(states.map((state) => writeCachedState(kv, state, nowMs)));
  const refused = written.flatMap((w) => (w.status === "rejected" ? [w.reason as unknown] : []));
  return { user: toAuthUser(user), states, refused };
}
