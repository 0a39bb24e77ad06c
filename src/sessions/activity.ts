/**
 * What follows a request the session check admitted, once it has been answered: the
 * session's activity. Only a request that passed every later check too (impersonation,
 * IP rules, the enrolment gate, permission, validation, ...) and was answered without an
 * error counts: a refused one must not keep an idle session alive. Two things follow it:
 *
 *   - last_seen_at is refreshed (D1, then KV) at most once per LAST_SEEN_REFRESH_SECONDS,
 *     after the response (waitUntil), never resurrecting a revoked session;
 *   - a new snapshot cookie is sealed when the request had none usable, or its last-seen
 *     time moved on (src/sessions/snapshot-check.ts), never on a protocol switch.
 *
 * Neither ever changes the answer: a failure is logged and the request stands.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { errorSummary, log } from "../lib/log";
import type { AuthState } from "./cache";
import { LAST_SEEN_REFRESH_SECONDS } from "./config";
import type { SessionAdmission } from "./middleware";
import { touchSession } from "./service";
import { issueSnapshot } from "./snapshot-check";

export type SessionCheckOptions = {
  /**
   * Send a new snapshot cookie when the request had none usable (default on). Off where
   * no browser keeps cookies (the RPC entrypoint): sealing one there is wasted work.
   */
  issueSnapshots?: boolean;
};

/**
 * When this isolate last refreshed each session's last_seen_at. A snapshot carries the
 * last-seen time it was sealed with; a client that keeps sending an older snapshot (one
 * that does not store the answers' cookies, such as a script with a fixed Cookie header)
 * would otherwise make every request past the refresh interval write D1 and KV again.
 * Recorded once the refresh succeeded; bounded: forgetting an entry costs one more refresh, never a missed one.
 */
const TOUCHED_MAX_ENTRIES = 10_000;
const touchedAt = new Map<string, number>();

/** The session's last activity as this isolate knows it: its state's, or a later refresh made here. */
const lastSeenKnownHere = (session: AuthState["session"]) => Math.max(session.lastSeenAt, touchedAt.get(session.id) ?? 0);

function rememberTouch(sessionId: string, nowMs: number): void {
  if (touchedAt.size >= TOUCHED_MAX_ENTRIES) touchedAt.delete(touchedAt.keys().next().value as string);
  touchedAt.delete(sessionId); // re-insert: Map order is the eviction order
  touchedAt.set(sessionId, nowMs);
}

/** Whether the request, as answered, counts as the session's activity. */
const accepted = (c: Context<AppEnv>) => !c.error && c.res.status < 400;

/** Runs once the request the session check admitted has been answered (see the header). */
export async function afterAcceptedRequest(c: Context<AppEnv>, admission: SessionAdmission, options: SessionCheckOptions = {}): Promise<void> {
  if (!accepted(c)) return;
  const { state, viaSnapshot } = admission;
  const now = c.get("now");
  const touched = now - lastSeenKnownHere(state.session) >= LAST_SEEN_REFRESH_SECONDS * 1000;
  if (touched) {
    c.executionCtx.waitUntil(touchSession(c.env, state, now).then((done) => done && rememberTouch(state.session.id, now)));
  }
  // A WebSocket response (101) cannot be rebuilt with a header.
  if ((options.issueSnapshots ?? true) && (!viaSnapshot || touched) && c.res.status !== 101) {
    await issueSnapshot(c, state, touched ? now : state.session.lastSeenAt).catch((err: unknown) => {
      log.warn("snapshot not issued", { error: errorSummary(err) });
    });
  }
}
