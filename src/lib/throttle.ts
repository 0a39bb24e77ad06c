/**
 * Fixed-window failure counters in D1, shared by sign-in (per email) and OTP
 * verification (per user). D1 rather than KV because KV is eventually consistent and
 * would let an attacker spread guesses across locations.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { attemptCounters } from "../db/schema";

export type ThrottlePolicy = { maxFailures: number; windowSeconds: number };

/** Seconds until the key may try again, or null when it is not locked. */
export async function lockedForSeconds(db: Db, key: string, policy: ThrottlePolicy, nowMs: number): Promise<number | null> {
  const row = await db.query.attemptCounters.findFirst({ where: eq(attemptCounters.key, key) });
  if (!row) return null;
  const windowEndsAt = row.windowStartedAt + policy.windowSeconds * 1000;
  if (windowEndsAt <= nowMs || row.failures < policy.maxFailures) return null;
  return Math.max(1, Math.ceil((windowEndsAt - nowMs) / 1000));
}

/** Statement that counts one failure, opening a new window when the old one is over. */
export function recordFailure(db: Db, key: string, policy: ThrottlePolicy, nowMs: number) {
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
    });
}

export function clearFailures(db: Db, key: string) {
  return db.delete(attemptCounters).where(eq(attemptCounters.key, key));
}
