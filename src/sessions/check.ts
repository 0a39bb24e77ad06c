/**
 * Whether a session is live, i.e. its state admits a request: pure, the one owner of that
 * rule, shared by the authoritative path (src/sessions/middleware.ts), the snapshot fast
 * path (src/sessions/snapshot-check.ts), step-up's D1 re-read (src/stepup/middleware.ts)
 * and the sessions list's `active` (src/sessions/service.ts).
 */
import type { AuthState } from "./cache";

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

/** Whether the edge check would admit a request of this state at `nowMs` (the sessions list's `active`). */
export const isSessionLive = (state: AuthState, timeouts: { idleSeconds: number }, nowMs: number): boolean =>
  checkSessionState(state, timeouts, nowMs) === null;
