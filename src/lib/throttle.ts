/**
 * Fixed-window attempt counters in D1, shared by sign-in (per email) and second-
 * factor checks (per user). D1 rather than KV: KV is eventually consistent and would
 * let an attacker spread guesses across locations.
 *
 * An attempt is reserved (counted) before the secret is checked, atomically, so that
 * concurrent guesses cannot all slip under the limit; a success clears the counter.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { attemptCounters } from "../db/schema";

export type ThrottlePolicy = { maxAttempts: number; windowSeconds: number };

/** Counts one attempt. Returns seconds to wait when over the limit, else null. */
export async function reserveAttempt(db: Db, key: string, policy: ThrottlePolicy, nowMs: number): Promise<number | null> {
  const windowOpenedBefore = nowMs - policy.windowSeconds * 1000;
  const [row] = await db
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
  if (!row || row.failures <= policy.maxAttempts) return null;
  return Math.max(1, Math.ceil((row.windowStartedAt + policy.windowSeconds * 1000 - nowMs) / 1000));
}

export function clearAttempts(db: Db, key: string) {
  return db.delete(attemptCounters).where(eq(attemptCounters.key, key));
}
