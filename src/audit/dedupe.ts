/**
 * Repeated refusals (a blocked address retrying, a throttled sign-in in a loop, a user
 * hammering a route they may not use) must not flood a tenant's log, or hide other rows
 * in the volume. A stream is a tenant, an action and subject parts, e.g. (tenant,
 * IP_ACCESS_DENIED, address) or (tenant, REQUEST_REFUSED, user, reason). One counter
 * per stream and minute in event_dedupe says how often the refusal happened so far;
 * a FAIL row is written at the 1st, 2nd, 4th, 8th, ... occurrence, carrying the count
 * so far (`metadata.count`). So n repeats write at most 1 + log2(n) rows, every row is
 * written when its refusal happens (chained rows are never edited later), and the last
 * row of a minute is within a factor of two of the minute's total.
 *
 * A counter that cannot be written is logged and the row is written anyway: a refusal
 * is never left out of the log because the deduplication failed.
 */
import { and, gte, lt, lte, sql } from "drizzle-orm";
import type { Context } from "hono";
import { eventDedupe } from "../db/schema";
import type { AppEnv } from "../env";
import type { AuditAction } from "./actions";
import { markRefusalRecorded } from "./refusal";
import { type AuditEvent, recordAudit } from "./service";
import { errorSummary, log } from "../lib/log";

export const DEDUPE_WINDOW_MS = 60_000;

export type RefusalStream = { tenantId: string; action: AuditAction; parts: readonly string[] };

// Parts are URI-encoded so that ':' only ever separates them (IPv6 addresses have ':').
const tenantPrefix = (tenantId: string) => `audit-dedupe:${encodeURIComponent(tenantId)}:`;

/**
 * Counts one occurrence of the stream and returns the count for this minute (1 for the
 * first), or null when the counter could not be written (logged). The same batch sweeps
 * the tenant's expired counters (a primary key range).
 */
export async function countOccurrence(c: Context<AppEnv>, stream: RefusalStream): Promise<number | null> {
  const now = c.get("now");
  const minute = Math.floor(now / DEDUPE_WINDOW_MS);
  const tenant = tenantPrefix(stream.tenantId);
  const key = `${tenant}${[stream.action, ...stream.parts].map(encodeURIComponent).join(":")}:${minute}`;
  try {
    const db = c.var.db;
    const [, counted] = await db.batch([
      // ';' is the character after ':': the range is exactly this tenant's keys.
      db.delete(eventDedupe).where(and(gte(eventDedupe.key, tenant), lt(eventDedupe.key, `${tenant.slice(0, -1)};`), lte(eventDedupe.expiresAt, now))),
      db
        .insert(eventDedupe)
        .values({ key, expiresAt: (minute + 1) * DEDUPE_WINDOW_MS, count: 1 })
        .onConflictDoUpdate({ target: eventDedupe.key, set: { count: sql`${eventDedupe.count} + 1` } })
        .returning({ count: eventDedupe.count }),
    ]);
    return counted[0]?.count ?? null;
  } catch (err) {
    log.error("event dedupe failed", { action: stream.action, error: errorSummary(err) });
    return null;
  }
}

export const isCountMilestone = (count: number) => count > 0 && (count & (count - 1)) === 0;

/** Writes `event` (a FAIL row) for a repeated refusal when its count is a milestone; counts it either way. */
export async function recordRepeatedRefusal(c: Context<AppEnv>, stream: RefusalStream, event: AuditEvent): Promise<void> {
  markRefusalRecorded(c);
  const count = await countOccurrence(c, stream);
  if (count !== null && !isCountMilestone(count)) return;
  await recordAudit(c, count === null ? event : { ...event, metadata: { ...event.metadata, count } });
}
