/**
 * What a committed change answers when the edge could not be told at once.
 *
 * Every change to users, sessions, IP rules or the tenant policy commits in D1 first (with
 * its audit row), then rewrites what the edge reads: the sessions' KV entries and the
 * tenant's edge document. If that second step fails (KV refuses, D1 fails on the re-read),
 * the change still stands, and it reaches every location within a bound: each KV entry the
 * edge reads expires within its TTL (CACHE_TTL_SECONDS, TENANT_EDGE_TTL_SECONDS) and is then
 * rebuilt from D1, a session snapshot is trusted for at most SNAPSHOT_MAX_AGE_MS from its
 * read, and KV takes about KV_PROPAGATION_SECONDS more to show any of it everywhere.
 *
 * So such a change answers its success, with `propagation: { status: "delayed",
 * boundSeconds, message }` in the body, never an error: a client that retried an error
 * would repeat what already happened. 503 AUTH_UNAVAILABLE keeps its one meaning, "not
 * done, retry". Every writer runs its post-commit step through propagate() and puts
 * withPropagation() in its success body.
 */
import { errorSummary, log } from "./lib/log";
import { CACHE_TTL_SECONDS } from "./sessions/cache";
import { SNAPSHOT_MAX_AGE_MS } from "./sessions/snapshot";
import { TENANT_EDGE_TTL_SECONDS } from "./edge-document/document";

/** KV is eventually consistent: a write (or an expiry) reaches every location within about a minute. */
export const KV_PROPAGATION_SECONDS = 60;

/** The longest a committed change whose propagation failed can go unenforced somewhere. */
export const PROPAGATION_BOUND_SECONDS = Math.max(CACHE_TTL_SECONDS, TENANT_EDGE_TTL_SECONDS, SNAPSHOT_MAX_AGE_MS / 1000) + KV_PROPAGATION_SECONDS;

export type DelayedPropagation = { status: "delayed"; boundSeconds: number; message: string };
/** "done": in force at this location on the next request, elsewhere as KV propagates (docs/consistency.md). */
export type Propagation = { status: "done" } | DelayedPropagation;

export const PROPAGATED: Propagation = { status: "done" };

const DELAYED: DelayedPropagation = {
  status: "delayed",
  boundSeconds: PROPAGATION_BOUND_SECONDS,
  message: `The change is saved. Some locations may still enforce the previous state for up to ${PROPAGATION_BOUND_SECONDS / 60} minutes; do not repeat it`,
};

/**
 * Runs the step that tells the edge about a change D1 has already committed. Its failure
 * is not the change's: it is logged, and the outcome says the propagation is delayed.
 */
export async function propagate(what: string, step: () => Promise<void>): Promise<Propagation> {
  try {
    await step();
    return PROPAGATED;
  } catch (err) {
    log.error("committed change not propagated", { what, boundSeconds: PROPAGATION_BOUND_SECONDS, error: errorSummary(err) });
    return DELAYED;
  }
}

/** Delayed if any of them is. */
export const worstOf = (...outcomes: Propagation[]): Propagation => outcomes.find((p) => p.status === "delayed") ?? PROPAGATED;

/** The success body's field: `{ propagation }` when delayed; nothing when done. */
export const withPropagation = (p: Propagation): { propagation?: DelayedPropagation } => (p.status === "delayed" ? { propagation: p } : {});
