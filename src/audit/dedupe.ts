/**
 * Repeated refusals (a blocked address retrying, a throttled sign-in in a loop) must not
 * flood a tenant's log, or hide other rows in the volume. One counter per (kind, tenant,
 * subject, minute) in event_dedupe tells the callers how many times the event happened
 * this minute, so far; they decide which occurrences become audit rows.
 */
import { and, gte, lt, lte, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createDb } from "../db/client";
import { eventDedupe } from "../db/schema";
import type { AppEnv } from "../env";

export const DEDUPE_WINDOW_MS = 60_000;

export type Occurrence = { kind: string; tenantId: string; subject: string };

/**
 * Counts one occurrence and returns the count for this minute (1 for the first), or
 * null when the counter could not be written (logged; the caller still refuses). The
 * same batch sweeps this kind's expired keys for the tenant (a primary key range).
 */
export async function countOccurrence(c: Context<AppEnv>, occurrence: Occurrence): Promise<number | null> {
  const now = c.get("now");
  const minute = Math.floor(now / DEDUPE_WINDOW_MS);
  const prefix = `${occurrence.kind}:${occurrence.tenantId}:`;
  try {
    const db = createDb(c.env.DB);
    const [, counted] = await db.batch([
      db
        .delete(eventDedupe)
        .where(and(gte(eventDedupe.key, prefix), lt(eventDedupe.key, `${occurrence.kind}:${occurrence.tenantId};`), lte(eventDedupe.expiresAt, now))),
      db
        .insert(eventDedupe)
        .values({ key: `${prefix}${occurrence.subject}:${minute}`, expiresAt: (minute + 1) * DEDUPE_WINDOW_MS, count: 1 })
        .onConflictDoUpdate({ target: eventDedupe.key, set: { count: sql`${eventDedupe.count} + 1` } })
        .returning({ count: eventDedupe.count }),
    ]);
    return counted[0]?.count ?? null;
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "event dedupe failed", kind: occurrence.kind, requestId: c.get("requestId"), error: String(err) }));
    return null;
  }
}

/**
 * For refusals that keep counting: a row for the 1st occurrence of the minute, then at
 * the 2nd, 4th, 8th, ... each carrying the exact count so far. At most 1 + log2(n) rows
 * for n repeats, and the last row of a minute is within a factor of two of the total.
 */
export const isCountMilestone = (count: number) => count > 0 && (count & (count - 1)) === 0;
