/**
 * One audit row per stream and minute, however many refusals the stream produces: a
 * client refused in a loop must not flood (or, by volume, hide things in) a tenant's
 * log. A stream is a tenant, an action and subject parts, e.g. (tenant,
 * IP_ACCESS_DENIED, address) or (tenant, REQUEST_REFUSED, user, reason).
 *
 * The first refusal of the minute creates the stream's key in event_dedupe and writes
 * its row; later ones only add to the key's count. Rows in the hash chain are never
 * edited, so a finished minute's count is written on the stream's next row
 * (`metadata.previousMinutes: [{ startedAt, count }]`, count = refusals that minute's
 * row stood for), in the batch that deletes the key, so it is reported once. Each
 * write also sweeps this tenant's expired keys that stood for one refusal (a key range
 * on the primary key). A failure here is logged; the refusal stands.
 */
import { and, eq, gt, gte, inArray, lt, lte, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createDb } from "../db/client";
import { eventDedupe } from "../db/schema";
import type { AppEnv } from "../env";
import type { AuditAction } from "./actions";
import { markRefusalRecorded } from "./refusal";
import { type AuditEvent, commitWithAudit } from "./service";

export const DEDUPE_WINDOW_MS = 60_000;
/** Counted keys of a stream that has not recurred are dropped by the daily cron after this. */
export const DEDUPE_COUNT_KEPT_MS = 7 * 24 * 60 * 60 * 1000;

export type DedupeStream = { tenantId: string; action: AuditAction; parts: readonly string[] };

// Parts are URI-encoded so that ':' only ever separates them (IPv6 addresses have ':').
const tenantPrefix = (tenantId: string) => `audit-dedupe:${encodeURIComponent(tenantId)}:`;
const streamPrefix = (s: DedupeStream) =>
  `${tenantPrefix(s.tenantId)}${[s.action, ...s.parts].map(encodeURIComponent).join(":")}:`;
/** The first key after every key starting with `prefix` (which ends in ':'). */
const afterPrefix = (prefix: string) => `${prefix.slice(0, -1)};`;

/**
 * Writes `event` (a FAIL row) if it is the first of its stream this minute, else
 * counts it. Either way the request's refusal is accounted for in the log.
 */
export async function recordRefusalOncePerMinute(c: Context<AppEnv>, stream: DedupeStream, event: AuditEvent): Promise<void> {
  markRefusalRecorded(c);
  const now = c.get("now");
  const minute = Math.floor(now / DEDUPE_WINDOW_MS);
  const tenant = tenantPrefix(stream.tenantId);
  const prefix = streamPrefix(stream);
  try {
    const db = createDb(c.env.DB);
    const [, counted] = await db.batch([
      db
        .delete(eventDedupe)
        .where(and(gte(eventDedupe.key, tenant), lt(eventDedupe.key, afterPrefix(tenant)), lte(eventDedupe.expiresAt, now), eq(eventDedupe.count, 1))),
      db
        .insert(eventDedupe)
        .values({ key: `${prefix}${minute}`, expiresAt: (minute + 1) * DEDUPE_WINDOW_MS, count: 1 })
        .onConflictDoUpdate({ target: eventDedupe.key, set: { count: sql`${eventDedupe.count} + 1` } })
        .returning({ count: eventDedupe.count }),
    ]);
    if (counted[0]?.count !== 1) return;

    const finished = await db
      .select({ key: eventDedupe.key, expiresAt: eventDedupe.expiresAt, count: eventDedupe.count })
      .from(eventDedupe)
      .where(and(gte(eventDedupe.key, prefix), lt(eventDedupe.key, afterPrefix(prefix)), lte(eventDedupe.expiresAt, now), gt(eventDedupe.count, 1)));
    const previousMinutes = finished
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .map((r) => ({ startedAt: new Date(r.expiresAt - DEDUPE_WINDOW_MS).toISOString(), count: r.count }));
    await commitWithAudit(
      c,
      finished.length > 0 ? [db.delete(eventDedupe).where(inArray(eventDedupe.key, finished.map((r) => r.key)))] : [],
      previousMinutes.length > 0 ? { ...event, metadata: { ...event.metadata, previousMinutes } } : event,
    );
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "refusal audit failed", action: stream.action, requestId: c.get("requestId"), error: String(err) }));
  }
}
