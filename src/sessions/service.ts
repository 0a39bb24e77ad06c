import { and, desc, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { createDb, type Db } from "../db/client";
import { type User, type UserSession, userSessions, users } from "../db/schema";
import type { AppEnv, AuthSession, Bindings } from "../env";
import { sha256Hex } from "../lib/crypto";
import { type Propagation, propagate } from "../propagation";
import { deviceLabel, requestMeta } from "../lib/request-meta";
import { type AuthState, impersonationOf, loadStateFromDb, refreshUserSessionsInCache, toAuthState, writeCachedState } from "./cache";
import { isSessionLive } from "./check";
import { sessionTimeouts } from "./config";
import { recordTenantChanges } from "../edge-document/staleness";
import { generateSessionToken } from "./token";
import type { SessionView } from "./views";
import { errorSummary, log } from "../lib/log";

/** A session started by the tenant's identity provider: the connection, and the provider's `sub` and `sid` (src/sso). */
export type SessionFederation = { connectionId: string; subject: string; sid: string | null };

/**
 * Builds a new session for `user` (not yet written): the row, its cookie token and cache state.
 * `amr`: how the user authenticated for this session (RFC 8176), e.g. ["pwd", "otp"].
 */
export async function prepareSession(c: Context<AppEnv>, user: User, amr: string[], sso: SessionFederation | null = null) {
  const now = c.get("now");
  const { id, token, tokenHash } = await generateSessionToken();
  const meta = requestMeta(c);
  const row: UserSession = {
    id,
    tenantId: user.tenantId,
    userId: user.id,
    tokenHash,
    sessionVersion: user.sessionVersion,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + sessionTimeouts(c.env).absoluteSeconds * 1000,
    ip: meta.ip,
    country: meta.country,
    city: meta.city,
    userAgent: meta.userAgent,
    deviceFingerprint: await deviceFingerprint(c),
    revokedAt: null,
    revokeReason: null,
    metadata: { amr },
    impersonatedUserId: null,
    impersonationReason: null,
    impersonationStartedAt: null,
    impersonationExpiresAt: null,
    ssoConnectionId: sso?.connectionId ?? null,
    ssoSubject: sso?.subject ?? null,
    ssoSid: sso?.sid ?? null,
  };
  return { row, token, state: { ...toAuthState(row, user), readAt: now } };
}

/**
 * A coarse fingerprint of the client software, to tell devices apart in the list.
 * Not an authenticator: every input is client-controlled.
 */
async function deviceFingerprint(c: Context<AppEnv>): Promise<string> {
  const parts = ["user-agent", "accept-language", "sec-ch-ua-platform"].map((h) => c.req.header(h) ?? "");
  return (await sha256Hex(parts.join("\n"))).slice(0, 32);
}

/** The fields impersonation bookkeeping needs, from a D1 row. */
export function toAuthSessionFields(s: UserSession): Pick<AuthSession, "id" | "userId" | "impersonation"> {
  return { id: s.id, userId: s.userId, impersonation: impersonationOf(s) };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A session of `owner` as the sessions list shows it; `active` is what the edge check would admit now. */
export function toSessionView(s: UserSession, owner: User, currentSessionId: string, nowMs: number, timeouts: { idleSeconds: number }): SessionView {
  const active = isSessionLive(toAuthState(s, owner), timeouts, nowMs);
  return {
    id: s.id,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    expiresAt: iso(s.expiresAt),
    ip: s.ip,
    country: s.country,
    city: s.city,
    userAgent: s.userAgent,
    device: deviceLabel(s.userAgent),
    revokedAt: s.revokedAt === null ? null : iso(s.revokedAt),
    revokeReason: s.revokeReason,
    active,
    current: s.id === currentSessionId,
  };
}

/** Sessions of one user that can still matter: unexpired ones (revoked ones included, for the record). */
export async function listUserSessions(db: Db, tenantId: string, userId: string, nowMs: number): Promise<UserSession[]> {
  return db
    .select()
    .from(userSessions)
    .where(and(eq(userSessions.tenantId, tenantId), eq(userSessions.userId, userId), gt(userSessions.expiresAt, nowMs)))
    .orderBy(desc(userSessions.lastSeenAt))
    .limit(200);
}

/** A user of the tenant; a removed user has left it (not found, like another tenant's). */
export async function findTenantUser(db: Db, tenantId: string, userId: string): Promise<User | undefined> {
  return db.query.users.findFirst({ where: and(eq(users.id, userId), eq(users.tenantId, tenantId), isNull(users.removedAt)) });
}

export async function findTenantSession(db: Db, tenantId: string, sessionId: string): Promise<UserSession | undefined> {
  return db.query.userSessions.findFirst({ where: and(eq(userSessions.id, sessionId), eq(userSessions.tenantId, tenantId)) });
}

/**
 * After D1 committed any change to users or their sessions (revocation, role,
 * permissions, MFA, impersonation), rewrite the cached state of every live session of
 * each of them and then, once per tenant, the tenant's edge document, so the change holds
 * on the next request at this location. All the users a change touched go in one call:
 * KV takes one write per key per second, so no key may be written twice by one request.
 * If KV (or D1) fails here the change is still committed: the outcome says its
 * propagation is delayed, and the caller answers its success with it (src/propagation.ts).
 */
export async function refreshCachedSessions(c: Context<AppEnv>, userIds: string | readonly string[]): Promise<Propagation> {
  return propagate("session cache", async () => {
    const refreshed = [];
    for (const userId of new Set(typeof userIds === "string" ? [userIds] : userIds)) {
      const one = await refreshUserSessionsInCache(c.var.db, c.env.SESSION_CACHE, userId, c.get("now"));
      if (one) refreshed.push(one);
    }
    // The same step rewrites the tenant's edge document, so no older session snapshot passes,
    // even when KV refused a session's own entry: that refusal is reported after it.
    await recordTenantChanges(c, refreshed);
    const refused = refreshed.flatMap((r) => r.refused);
    if (refused.length > 0) throw refused[0];
  });
}

/** Refreshes last_seen_at after the response; never resurrects a revoked session. Whether it was written (D1 and KV). */
export async function touchSession(env: Bindings, state: AuthState, nowMs: number): Promise<boolean> {
  try {
    const db = createDb(env.DB);
    await db
      .update(userSessions)
      .set({ lastSeenAt: nowMs })
      .where(and(eq(userSessions.id, state.session.id), isNull(userSessions.revokedAt)));
    const fresh = await loadStateFromDb(db, state.session.id, nowMs);
    if (fresh) await writeCachedState(env.SESSION_CACHE, fresh, nowMs);
    return true;
  } catch (err) {
    log.warn("last_seen refresh failed", { error: errorSummary(err) });
    return false;
  }
}
