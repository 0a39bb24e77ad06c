/**
 * POST /api/auth/sso/backchannel-logout: OIDC Back-Channel Logout 1.0. The tenant's identity
 * provider posts a logout token (form field `logout_token`) when a user's session there
 * ends; Gatehouse ends the sessions that provider session (`sid`) or subject (`sub`) started
 * through the connection, as any revocation ends sessions (src/sessions/revoke.ts): one D1
 * batch with the SSO_LOGOUT rows, then the cached state and the edge document rewritten, so
 * the ended sessions are refused within the same bound as any revocation.
 *
 * Threat model: the endpoint takes no cookie and no Origin (the provider calls it server to
 * server; the API's CSRF guard refuses only what a browser marks cross-site, which this
 * caller never is), so the signed token is the only credential (src/sso/logout-token.ts
 * validates it). A token acts once: SHA-256 of `<issuer> <jti>` is kept in
 * sso_logout_tokens, in the batch that ends the sessions, until the token could no longer
 * be accepted; a replay is 400 and ends nothing, and of two racing deliveries one batch
 * fails on the key. A token ends only sessions of the connection (and so the tenant) it
 * verified for: another tenant's sessions of the same provider and subject stay. Refusals
 * are 400 (as §2.8 says) with a FAIL row in each tenant the token named, repeats of the
 * same refusal counted rather than written each time (src/audit/dedupe.ts), so a stranger
 * posting forged tokens cannot flood a log; the provider's keys or D1 unavailable is 503,
 * nothing ended, and the provider retries. A token naming no live session is still 200.
 */
import { and, eq, gt, isNull, lte } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { recordRepeatedRefusal } from "../audit/dedupe";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import type { Db } from "../db/client";
import { failedWith } from "../db/errors";
import { type SsoConnection, type UserSession, ssoIdentities, ssoLogoutTokens, userSessions } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { failClosed } from "../lib/fail-closed";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { PROPAGATED, type Propagation, withPropagation } from "../propagation";
import { impersonationOf } from "../sessions/cache";
import { type EndingSession, endSessions } from "../sessions/revoke";
import { CLOCK_SKEW_SECONDS, type LogoutClaims, MAX_TOKEN_AGE_SECONDS, validateLogoutToken } from "./logout-token";
import { answers } from "../openapi/notes";

/** The form the provider posts (§2.5); other fields are ignored. */
const logoutForm = z.looseObject({ logout_token: z.string().min(1).max(16 * 1024) });

/** Who a logout's audit rows name as having acted: the provider, through no Gatehouse user. */
const BY_PROVIDER = { by: "identity-provider" } as const;

/**
 * The refusal to throw for a token the connections named: its FAIL row goes to the first
 * connection's tenant through audited(), and to every other's here.
 */
async function refusal(c: Context<AppEnv>, connections: readonly SsoConnection[], code: "SSO_LOGOUT_TOKEN_INVALID" | "SSO_LOGOUT_TOKEN_REPLAYED", message: string, problem: string): Promise<ApiError> {
  const failRow = (connection: SsoConnection) => ({
    tenantId: connection.tenantId,
    actorUserId: null,
    targetType: "sso_connection" as const,
    targetId: connection.id,
    // Not "by" the provider: whoever posted it, the token did not prove it was.
    metadata: { problem },
    dedupeSubject: `${connection.id} ${problem}`,
  });
  const [first, ...others] = connections;
  for (const connection of others) {
    const { dedupeSubject, ...row } = failRow(connection);
    await recordRepeatedRefusal(c, { action: "SSO_LOGOUT", outcome: "FAIL", failureReason: code, ...row }, [dedupeSubject]);
  }
  return new ApiError(400, code, message, { details: { problem }, ...(first ? { audit: failRow(first) } : {}) });
}

const invalidToken = (c: Context<AppEnv>, connections: readonly SsoConnection[], problem: string) =>
  refusal(c, connections, "SSO_LOGOUT_TOKEN_INVALID", `The logout token is not valid: ${problem}; no session was ended`, problem);

const replayedToken = (c: Context<AppEnv>, connections: readonly SsoConnection[]) =>
  refusal(c, connections, "SSO_LOGOUT_TOKEN_REPLAYED", "This logout token (its jti) was already used; no session was ended", "its jti was already used");

/** The key a token's use is remembered by. */
const usedTokenKey = (claims: LogoutClaims) => sha256Hex(`${claims.iss} ${claims.jti}`);

/** Until when a token's use must be remembered: while it could still be accepted (validateLogoutToken's window). */
const rememberUntilMs = (claims: LogoutClaims) => (Math.min(claims.exp ?? Number.POSITIVE_INFINITY, claims.iat + MAX_TOKEN_AGE_SECONDS) + CLOCK_SKEW_SECONDS) * 1000;

async function usedBefore(db: Db, key: string, nowMs: number): Promise<boolean> {
  const row = await db.select({ expiresAt: ssoLogoutTokens.expiresAt }).from(ssoLogoutTokens).where(eq(ssoLogoutTokens.key, key)).get();
  return row !== undefined && row.expiresAt > nowMs;
}

/**
 * The live sessions of `connection` the token names: those of its `sid` (of its `sub` too
 * when both are given: §2.6's sid is the provider's session of that subject), else every
 * one of its `sub`. Never another tenant's, whatever a row says.
 */
function sessionsStartedBy(db: Db, connection: SsoConnection, claims: LogoutClaims, nowMs: number): Promise<UserSession[]> {
  return db
    .select()
    .from(userSessions)
    .where(
      and(
        eq(userSessions.ssoConnectionId, connection.id),
        eq(userSessions.tenantId, connection.tenantId),
        claims.sid === undefined ? undefined : eq(userSessions.ssoSid, claims.sid),
        claims.sub === undefined ? undefined : eq(userSessions.ssoSubject, claims.sub),
        isNull(userSessions.revokedAt),
        gt(userSessions.expiresAt, nowMs),
      ),
    );
}

/** The member a subject is at a connection, when linked: the target of a logout that found no session. */
async function linkedUser(db: Db, connection: SsoConnection, sub: string | undefined): Promise<string | null> {
  if (sub === undefined) return null;
  const row = await db.select({ userId: ssoIdentities.userId }).from(ssoIdentities).where(and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.subject, sub))).get();
  return row?.userId ?? null;
}

/** One SSO_LOGOUT row: a member of a connection's tenant, and the sessions of theirs the logout ends. */
type Ending = { connection: SsoConnection; userId: string | null; sessions: EndingSession[] };

/** Each connection's sessions the token names, by member (a connection with none: one entry, its linked member's). */
async function endingsFor(db: Db, connections: readonly SsoConnection[], claims: LogoutClaims, nowMs: number): Promise<Ending[]> {
  const endings: Ending[] = [];
  for (const connection of connections) {
    const byUser = new Map<string, EndingSession[]>();
    for (const s of await sessionsStartedBy(db, connection, claims, nowMs)) {
      byUser.set(s.userId, [...(byUser.get(s.userId) ?? []), { id: s.id, userId: s.userId, tenantId: s.tenantId, impersonation: impersonationOf(s) }]);
    }
    if (byUser.size === 0) endings.push({ connection, userId: await linkedUser(db, connection, claims.sub), sessions: [] });
    for (const [userId, sessions] of byUser) endings.push({ connection, userId, sessions });
  }
  return endings;
}

const loggedOut = (claims: LogoutClaims, e: Ending): AuditEvent => ({
  action: "SSO_LOGOUT",
  outcome: "SUCCESS",
  tenantId: e.connection.tenantId,
  actorUserId: null,
  targetType: "user",
  targetId: e.userId,
  metadata: { ...BY_PROVIDER, ...(claims.sid ? { sid: claims.sid } : {}), ...(claims.sub ? { sub: claims.sub } : {}), endedSessions: e.sessions.map((s) => s.id) },
});

type LogoutDone = { kind: "done"; propagation: Propagation } | { kind: "replayed" };

/**
 * Ends the sessions the token names, the token's use remembered and the SSO_LOGOUT rows
 * written in the same batch (one, whichever tenants and members it spans); a use recorded
 * meanwhile fails the batch, and the outcome says replayed.
 */
async function endNamedSessions(c: Context<AppEnv>, claims: LogoutClaims, connections: readonly SsoConnection[]): Promise<LogoutDone> {
  const db = c.var.db;
  const now = c.get("now");
  const key = await usedTokenKey(claims);
  return failClosed("back-channel logout", async () => {
    if (await usedBefore(db, key, now)) return { kind: "replayed" };
    const endings = await endingsFor(db, connections, claims, now);
    const remember = [
      // A use remembered past its time is forgotten here if the housekeeping has not yet.
      db.delete(ssoLogoutTokens).where(and(eq(ssoLogoutTokens.key, key), lte(ssoLogoutTokens.expiresAt, now))),
      db.insert(ssoLogoutTokens).values({ key, expiresAt: rememberUntilMs(claims) }),
    ];
    const [first, ...rest] = [...endings.filter((e) => e.sessions.length > 0), ...endings.filter((e) => e.sessions.length === 0)];
    try {
      if (!first?.userId || first.sessions.length === 0) {
        await commitWithAudit(c, remember, endings.map((e) => loggedOut(claims, e)));
        return { kind: "done", propagation: PROPAGATED };
      }
      const { propagation } = await endSessions(c, {
        tenantId: first.connection.tenantId,
        userId: first.userId,
        which: { sessions: endings.flatMap((e) => e.sessions) },
        reason: "SSO_LOGOUT",
        changes: remember,
        event: () => loggedOut(claims, first),
        events: rest.map((e) => loggedOut(claims, e)),
        alsoRefresh: rest.flatMap((e) => (e.userId && e.sessions.length > 0 ? [e.userId] : [])),
      });
      return { kind: "done", propagation };
    } catch (err) {
      if (failedWith(err, /UNIQUE constraint failed: sso_logout_tokens\./)) return { kind: "replayed" };
      throw err;
    }
  });
}

/** Mounted at /api/auth/sso, before the API's signed-in checks: the caller is the provider, with no session. */
export const backchannelLogoutRoutes = new Hono<AppEnv>().post("/backchannel-logout", audited("SSO_LOGOUT", { targetType: "sso_connection" }), validate("form", logoutForm), answers("SSO_LOGOUT_TOKEN_INVALID", "SSO_LOGOUT_TOKEN_REPLAYED", "AUTH_UNAVAILABLE"), async (c) => {
  const token = await validateLogoutToken(c.var.db, c.req.valid("form").logout_token, c.get("now"));
  if (token.kind === "keys-unavailable") throw new ApiError(503, "AUTH_UNAVAILABLE", "The identity provider's keys could not be fetched; no session was ended, retry");
  if (token.kind === "refused") throw await invalidToken(c, token.connections, token.problem);
  const done = await endNamedSessions(c, token.claims, token.connections);
  if (done.kind === "replayed") throw await replayedToken(c, token.connections);
  return c.json({ success: true, ...withPropagation(done.propagation) });
});
