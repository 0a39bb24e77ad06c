/**
 * The session check's fast path: a request whose snapshot cookie (src/sessions/snapshot.ts)
 * verifies, belongs to the session cookie, is fresh and is not made stale by the tenant's
 * edge document (src/edge-document/) passes with no per-session read. Anything else
 * returns null and the request takes the authoritative path (KV, D1 on a miss), whose
 * answer is then re-issued as a new snapshot. Without SESSION_SNAPSHOT_KEYS there are no
 * snapshots and every request takes that path. Never a pass on the snapshot alone; an edge
 * document that cannot be read throws (503 by the caller). The conditions and their
 * bounds: docs/consistency.md.
 */
import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { hostCookie } from "../lib/cookies";
import { parseConfig } from "../config";
import type { AppEnv } from "../env";
import type { KeySet } from "../lib/key-set";
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";
import type { AuthState } from "./cache";
import { checkSessionState } from "./check";
import { sessionTimeouts } from "./config";
import { SNAPSHOT_COOKIE, SNAPSHOT_MAX_AGE_MS, type Snapshot, openSnapshot, sealSnapshot } from "./snapshot";
import { readEdgeState } from "../edge-document/read";
import { sessionFingerprint, userFingerprint } from "../edge-document/staleness";
import { impersonationExpired } from "../impersonation/expiry";

export const snapshotKeys = (c: Context<AppEnv>): KeySet | null => parseConfig(c.env).keys.sessionSnapshot;

type SessionToken = { id: string; secret: string };

/**
 * Snapshots this isolate has verified (MAC, session id and the session's secret), by cookie
 * value, so a session's burst pays the HMAC, the parse and the secret's hash once. An entry
 * counts only under the same key set (a new set, as after a rotation, verifies afresh) and
 * for the same secret (compared in constant time); the time-dependent checks and the
 * tenant's document are consulted on every request.
 */
const VERIFIED_MAX_ENTRIES = 2000;
const verified = new Map<string, { keys: KeySet; token: SessionToken; snapshot: Snapshot }>();

async function verifiedSnapshot(keys: KeySet, value: string | undefined, token: SessionToken): Promise<Snapshot | null> {
  if (!value) return null;
  const hit = verified.get(value);
  if (hit && hit.keys === keys) return hit.token.id === token.id && timingSafeEqualString(hit.token.secret, token.secret) ? hit.snapshot : null;
  const snapshot = await openSnapshot(keys, value);
  if (!snapshot || snapshot.state.session.id !== token.id) return null;
  if (!timingSafeEqualString(await sha256Hex(token.secret), snapshot.state.session.tokenHash)) return null;
  if (verified.size >= VERIFIED_MAX_ENTRIES) verified.delete(verified.keys().next().value as string);
  verified.set(value, { keys, token, snapshot });
  return snapshot;
}

/**
 * Whether the tenant's edge document leaves this snapshot's fingerprints standing (the
 * same in-isolate copy the IP rule check reads). KV or D1 failing throws: the caller
 * answers 503.
 *
 * The session's and its own user's fingerprints only: every change to the user a session
 * impersonates that bears on what it may do as them (disabling, removing, a role or
 * permission change) ends the impersonation in the change's own batch
 * (src/impersonation/access-change.ts), which changes the impersonating session's
 * fingerprint in the same rewrite of this document. The rest of that user's state (their
 * name, their second factor, their session_version) decides nothing for the impersonating
 * session, and its stored copy (KV) is not rewritten for such a change either: it ages out
 * as the snapshot does (SNAPSHOT_MAX_AGE_MS after it was read from D1).
 */
async function stillCurrent(c: Context<AppEnv>, snapshot: Snapshot, nowMs: number): Promise<boolean> {
  const { state, fingerprints } = snapshot;
  const doc = await readEdgeState(c, state.session.tenantId);
  if (doc.overflowUntil > nowMs || state.readAt < doc.cacheRebuiltAt) return false;
  const same = (entry: { fp: string } | undefined, fp: string) => entry === undefined || entry.fp === fp;
  return same(doc.sessions[state.session.id], fingerprints.session) && same(doc.users[state.user.id], fingerprints.user);
}

/**
 * The state the snapshot cookie vouches for, or null (take the authoritative path).
 * `token` is the parsed session cookie: the snapshot must name its session and match
 * its secret.
 */
export async function admitFromSnapshot(c: Context<AppEnv>, token: SessionToken): Promise<AuthState | null> {
  const keys = snapshotKeys(c);
  if (!keys) return null;
  const snapshot = await verifiedSnapshot(keys, hostCookie(c, SNAPSHOT_COOKIE), token);
  if (!snapshot) return null;
  const { state } = snapshot;
  const now = c.get("now");
  if (state.session.tenantId !== state.user.tenantId) return null;
  if (!(now - state.readAt < SNAPSHOT_MAX_AGE_MS && state.readAt <= now)) return null;
  // Whatever the snapshot would refuse or end (timeouts, an expired impersonation) is
  // decided by the authoritative path, with its own reasons and bookkeeping.
  if (checkSessionState(state, sessionTimeouts(c.env), now) !== null) return null;
  if (state.session.impersonation && (impersonationExpired(state.session.impersonation, now) || !state.impersonatedUser)) return null;
  if (!(await stillCurrent(c, snapshot, now))) return null;
  return state;
}

/**
 * Sets a snapshot cookie for `state` (as admitted by the edge check at `nowMs`, with its
 * last-seen time as the request leaves it). Does nothing without a key set or a readAt.
 */
export async function issueSnapshot(c: Context<AppEnv>, state: AuthState, lastSeenAt: number): Promise<void> {
  const keys = snapshotKeys(c);
  if (!keys || state.readAt === undefined) return;
  const fresh = { ...state, readAt: state.readAt, session: { ...state.session, lastSeenAt } };
  const fingerprints = { user: await userFingerprint(fresh.user), session: await sessionFingerprint(fresh.session) };
  const value = await sealSnapshot(keys, { state: fresh, fingerprints });
  setCookie(c, SNAPSHOT_COOKIE, value, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    prefix: "host",
    maxAge: Math.max(0, Math.ceil((fresh.session.expiresAt - c.get("now")) / 1000)),
  });
}
