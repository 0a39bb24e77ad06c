/**
 * Repeated refusals (a blocked address retrying, a throttled sign-in in a loop, a user
 * hammering a route they may not use) must not flood a tenant's log, or hide other rows
 * in the volume. Only repeats of the same refusal share a stream: the same tenant and
 * action, the same refused user (and real user while impersonating), the same reason,
 * the same method and route pattern (so the ids and query a request names do not tell
 * repeats apart, but a different route does), and the caller's own subject parts (a
 * client address, an email). One counter per stream and minute in event_dedupe says how
 * often the refusal happened so far; a FAIL row is written at the 1st, 2nd, 4th, 8th, ...
 * occurrence, carrying the count so far (`metadata.count`). So n repeats write at most
 * 1 + log2(n) rows, every row is written when its refusal happens (chained rows are
 * never edited later), and the last row of a minute is within a factor of two of the
 * minute's total.
 *
 * The route pattern is the one Hono matched (e.g. `/_gatehouse/api/users/:id`); where
 * only catch-alls matched (an unknown API path, any product path in gateway mode: the
 * product's own routes are not Gatehouse's to know) it is the narrowest of them, so a
 * client varying the path cannot make each request a stream of its own.
 *
 * A counter that cannot be written is logged and the row is written anyway: a refusal
 * is never left out of the log because the deduplication failed.
 */
import { and, gte, lt, lte, sql } from "drizzle-orm";
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import { eventDedupe } from "../db/schema";
import type { AppEnv } from "../env";
import type { AuditAction } from "./actions";
import { markRefusalRecorded } from "./refusal";
import { type AuditEvent, buildAuditRow, recordAudit } from "./service";
import { errorSummary, log } from "../lib/log";

export const DEDUPE_WINDOW_MS = 60_000;

type RefusalStream = { tenantId: string; action: AuditAction; parts: readonly string[] };

/** The route pattern the request matched: its own route's, else the narrowest catch-all (see above). */
function routePattern(c: Context): string {
  const paths = matchedRoutes(c).map((route) => route.path);
  return paths.find((path) => !path.includes("*")) ?? paths.reduce((narrowest, path) => (path.length > narrowest.length ? path : narrowest), "");
}

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

/** A refusal's FAIL row: one of Gatehouse's own actions, in a named tenant. */
export type RefusalEvent = AuditEvent & { action: AuditAction; tenantId: string };

/**
 * Writes `event` (a FAIL row) for a refusal when its count in its stream is a milestone;
 * counts it either way. `subject` tells apart repeats that the request alone does not
 * (the client address of an IP denial, the email and address of a throttled sign-in).
 */
export async function recordRepeatedRefusal(c: Context<AppEnv>, event: RefusalEvent, subject: readonly string[] = []): Promise<void> {
  markRefusalRecorded(c);
  // Who and why exactly as the row will say it.
  const row = buildAuditRow(c, event);
  const parts = [row?.actorUserId ?? "", row?.realUserId ?? "", row?.failureReason ?? "", c.req.method, routePattern(c), ...subject];
  const count = await countOccurrence(c, { tenantId: event.tenantId, action: event.action, parts });
  if (count !== null && !isCountMilestone(count)) return;
  await recordAudit(c, count === null ? event : { ...event, metadata: { ...event.metadata, count } });
}
