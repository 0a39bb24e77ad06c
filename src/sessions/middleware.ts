/**
 * The per-request check at the edge.
 *
 * Threat model: a stolen or revoked cookie must stop working on its next request at
 * this location; a cache or database outage must never turn into "let everyone in".
 * KV holds the session and its user's security state; D1 is read only on a KV miss.
 * Any error reading either denies with 503 AUTH_UNAVAILABLE (fail closed).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";
import { type AuthState, loadStateFromDb, readCachedState, writeCachedState } from "./cache";
import { LAST_SEEN_REFRESH_SECONDS, sessionTimeouts } from "./config";
import { touchSession } from "./service";
import { SESSION_COOKIE, parseSessionToken } from "./token";
import { errorSummary, log } from "../lib/log";

/** Why a cookie does not admit a request (401 codes); a client's sign-in page keys off these. */
export const SESSION_FAILURES = ["UNAUTHORIZED", "SESSION_REVOKED", "SESSION_INVALIDATED"] as const;
export type SessionFailure = (typeof SESSION_FAILURES)[number];

/** Pure: decides whether a cached state admits a request at `nowMs`. */
export function checkSessionState(
  state: AuthState,
  timeouts: { idleSeconds: number },
  nowMs: number,
): SessionFailure | null {
  const { session, user } = state;
  // First: a force logout both bumps the version and revokes, and should say so.
  if (session.sessionVersion !== user.sessionVersion) return "SESSION_INVALIDATED";
  if (session.revokedAt !== null) return "SESSION_REVOKED";
  if (session.expiresAt <= nowMs) return "SESSION_REVOKED";
  if (nowMs - session.lastSeenAt > timeouts.idleSeconds * 1000) return "SESSION_REVOKED";
  if (user.disabledAt !== null) return "SESSION_REVOKED";
  return null;
}

const FAILURE_MESSAGES: Record<SessionFailure, string> = {
  UNAUTHORIZED: "Sign in to continue",
  SESSION_REVOKED: "Your session was revoked or has expired",
  SESSION_INVALIDATED: "Your sessions were signed out; sign in again",
};

function deny(c: Context<AppEnv>, code: SessionFailure): never {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
  throw new ApiError(401, code, FAILURE_MESSAGES[code]);
}

async function loadState(c: Context<AppEnv>, sessionId: string): Promise<AuthState | null> {
  try {
    const cached = await readCachedState(c.env.SESSION_CACHE, sessionId, c.get("now"));
    if (cached) return cached;
    const fromDb = await loadStateFromDb(c.var.db, sessionId);
    if (fromDb) {
      const now = c.get("now");
      c.executionCtx.waitUntil(writeCachedState(c.env.SESSION_CACHE, fromDb, now).catch(() => undefined));
    }
    return fromDb;
  } catch (err) {
    log.error("auth state unavailable", { error: errorSummary(err) });
    throw new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");
  }
}

/**
 * Whom the cookie identifies, whatever the state of their session (revoked and expired
 * ones included): its session row, when the id resolves to one AND the secret matches
 * its hash (constant time). No cookie, an unknown id or a wrong secret: null, so a
 * client-sent id alone never names a tenant. Read once per request (KV, D1 on a miss);
 * throws 503 AUTH_UNAVAILABLE if they fail.
 */
export async function identifySession(c: Context<AppEnv>): Promise<AuthState | null> {
  const known = c.get("identifiedSession");
  if (known !== undefined) return known;
  const token = parseSessionToken(getCookie(c, SESSION_COOKIE, "host"));
  let state = token ? await loadState(c, token.id) : null;
  if (token && state && !timingSafeEqualString(await sha256Hex(token.secret), state.session.tokenHash)) state = null;
  c.set("identifiedSession", state);
  return state;
}

/**
 * Sets the request's identity to an admitted session: its own user, not impersonating
 * yet (the next step, resolveImpersonation, may act as another).
 */
export function admitSession(c: Context<AppEnv>, state: AuthState): void {
  c.set("authState", state);
  c.set("session", state.session);
  c.set("realUser", state.user);
  c.set("user", state.user);
  c.set("actor", { realUserId: null, isImpersonating: false });
}

export const requireSession = () =>
  createMiddleware<AppEnv>(async function requireSession(c, next) {
    const state = await identifySession(c);
    if (!state) deny(c, "UNAUTHORIZED");

    const now = c.get("now");
    const failure = checkSessionState(state, sessionTimeouts(c.env), now);
    if (failure) deny(c, failure);

    admitSession(c, state);
    await next();

    // Only a request that passed every later check too (IP rules, permission,
    // validation, ...) is activity: a refused one must not keep an idle session alive.
    const accepted = !c.error && c.res.status < 400;
    if (accepted && now - state.session.lastSeenAt >= LAST_SEEN_REFRESH_SECONDS * 1000) {
      c.executionCtx.waitUntil(touchSession(c.env, state, now));
    }
  });
