/**
 * Fixed-window attempt counters in D1, shared by sign-in (per email and address, per
 * account, per device; src/auth/throttle.ts) and second-factor checks (per user). D1
 * rather than KV: KV is eventually consistent and would let an attacker spread guesses
 * across locations.
 *
 * An attempt is reserved (counted) before the secret is checked, atomically, so that
 * concurrent guesses cannot all slip under the limit; a success clears the counters its
 * caller names.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { attemptCounters } from "../db/schema";

type AttemptCounter = typeof attemptCounters.$inferSelect;

export type ThrottlePolicy = { maxAttempts: number; windowSeconds: number };

/** The upsert that counts one attempt for `key` and returns the counter. */
function reserveStatement(db: Db, key: string, policy: ThrottlePolicy, nowMs: number) {
  const windowOpenedBefore = nowMs - policy.windowSeconds * 1000;
  return db
    .insert(attemptCounters)
    .values({ key, failures: 1, windowStartedAt: nowMs })
    .onConflictDoUpdate({
      target: attemptCounters.key,
      set: {
        failures: sql`CASE WHEN ${attemptCounters.windowStartedAt} <= ${windowOpenedBefore} THEN 1 ELSE ${attemptCounters.failures} + 1 END`,
        windowStartedAt: sql`CASE WHEN ${attemptCounters.windowStartedAt} <= ${windowOpenedBefore} THEN ${nowMs} ELSE ${attemptCounters.windowStartedAt} END`,
      },
    })
    .returning();
}

function retryAfter(row: AttemptCounter | undefined, policy: ThrottlePolicy, nowMs: number): number | null {
  if (!row || row.failures <= policy.maxAttempts) return null;
  return Math.max(1, Math.ceil((row.windowStartedAt + policy.windowSeconds * 1000 - nowMs) / 1000));
}

/** Counts one attempt. Returns seconds to wait when over the limit, else null. */
export async function reserveAttempt(db: Db, key: string, policy: ThrottlePolicy, nowMs: number): Promise<number | null> {
  const [row] = await reserveStatement(db, key, policy, nowMs);
  return retryAfter(row, policy, nowMs);
}

export type Reservation = { key: string; policy: ThrottlePolicy };

/**
 * Counts one attempt on each counter in one D1 batch (one round trip, one transaction).
 * Returns, per counter in order, seconds to wait when over its limit, else null.
 */
export async function reserveAttempts(db: Db, reservations: readonly [Reservation, ...Reservation[]], nowMs: number): Promise<(number | null)[]> {
  const [first, ...rest] = reservations.map((r) => reserveStatement(db, r.key, r.policy, nowMs));
  if (!first) return [];
  const results = await db.batch([first, ...rest]);
  return results.map((rows, i) => retryAfter(rows[0], (reservations[i] as Reservation).policy, nowMs));
}

export function clearAttempts(db: Db, key: string) {
  return db.delete(attemptCounters).where(eq(attemptCounters.key, key));
}
