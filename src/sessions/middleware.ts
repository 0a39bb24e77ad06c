/**
 * The session check: the edge check's first step (src/edge-check.ts), which admits a
 * request whose cookie names a live session (the rule: src/sessions/check.ts). What
 * follows a request once it was admitted and answered: src/sessions/activity.ts.
 *
 * Threat model: a stolen or revoked cookie must stop working on its next request at
 * this location; a cache or database outage must never turn into "let everyone in".
 * A fresh snapshot cookie that the tenant's edge document leaves standing admits a
 * request with no per-session read (src/sessions/snapshot-check.ts); otherwise KV holds
 * the session and its user's security state, and D1 is read only on a KV miss.
 * Any error reading either denies with 503 AUTH_UNAVAILABLE (fail closed).
 */
import type { Context } from "hono";
import { hostCookie } from "../lib/cookies";
import { createMiddleware } from "hono/factory";
import { ConfigError } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";
import { type AuthState, loadStateFromDb, readCachedState, writeCachedState } from "./cache";
import { type SessionCheckOptions, afterAcceptedRequest } from "./activity";
import { sessionTimeouts } from "./config";
import { admitFromSnapshot } from "./snapshot-check";
import { clearSessionCookies } from "./cookies";
import { SESSION_COOKIE, parseSessionToken } from "./token";
import { errorSummary, log } from "../lib/log";
import { type SessionFailure, checkSessionState } from "./check";

export { SESSION_FAILURES, type SessionFailure, checkSessionState } from "./check";

const FAILURE_MESSAGES: Record<SessionFailure, string> = {
  UNAUTHORIZED: "Sign in to continue",
  SESSION_REVOKED: "Your session was revoked or has expired",
  SESSION_INVALIDATED: "Your sessions were signed out; sign in again",
};

function deny(c: Context<AppEnv>, code: SessionFailure): never {
  clearSessionCookies(c);
  throw new ApiError(401, code, FAILURE_MESSAGES[code]);
}

async function loadState(c: Context<AppEnv>, sessionId: string): Promise<AuthState | null> {
  try {
    const cached = await readCachedState(c.env.SESSION_CACHE, sessionId, c.get("now"));
    if (cached) return cached;
    const fromDb = await loadStateFromDb(c.var.db, sessionId, c.get("now"));
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
  const token = parseSessionToken(hostCookie(c, SESSION_COOKIE));
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

const unavailable = () => new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");

/** The snapshot's state when it admits the request on its own; null: take the authoritative path. */
async function fromSnapshot(c: Context<AppEnv>): Promise<AuthState | null> {
  const token = parseSessionToken(hostCookie(c, SESSION_COOKIE));
  if (!token) return null;
  try {
    const state = await admitFromSnapshot(c, token);
    if (state) c.set("identifiedSession", state);
    return state;
  } catch (err) {
    // A configuration that does not parse has its own answer (503 CONFIG_INVALID).
    if (err instanceof ConfigError) throw err;
    log.error("tenant edge document unavailable", { error: errorSummary(err) });
    throw unavailable();
  }
}

/** What the session check admitted: the state, and whether a snapshot vouched for it alone. */
export type SessionAdmission = { state: AuthState; viaSnapshot: boolean };

/**
 * The edge check's first step: the cookie names a live session (a snapshot's state, else
 * KV's or D1's), which it admits on the context (admitSession). Otherwise 401 with the
 * reason, both cookies cleared; 503 when the state cannot be read.
 */
export async function admitSessionCookie(c: Context<AppEnv>): Promise<SessionAdmission> {
  const fast = await fromSnapshot(c);
  const state = fast ?? (await identifySession(c));
  if (!state) deny(c, "UNAUTHORIZED");
  const failure = checkSessionState(state, sessionTimeouts(c.env), c.get("now"));
  if (failure) deny(c, failure);
  admitSession(c, state);
  return { state, viaSnapshot: fast !== null };
}

/**
 * The session check on its own (sign-out mounts it without the rest of the edge check):
 * admission, then, once the request was answered, what follows an accepted one
 * (src/sessions/activity.ts).
 */
export const requireSession = (options: SessionCheckOptions = {}) =>
  createMiddleware<AppEnv>(async function requireSession(c, next) {
    const admission = await admitSessionCookie(c);
    await next();
    await afterAcceptedRequest(c, admission, options);
  });
