/**
 * Where a bounded scheduled job stopped, so the next run resumes after it rather than
 * re-examining the same rows: one row per job in `retention_cursors` (`tenant_id` holds
 * the key of the last row the job finished, whatever table it walks; NULL: start a new
 * pass from the first). Jobs: "audit" (src/audit/retention.ts), "totp-reseal"
 * (src/stepup/reseal.ts), "checkpoint-resign" (src/audit/checkpoint.ts), "sso-secret-reseal"
 * (src/sso/reseal.ts), "audit-anchor" (src/audit/anchor-sweep.ts),
 * "audit-stream-token-reseal" (src/audit-stream/reseal.ts).
 */
import { and, eq, gt, lte } from "drizzle-orm";
import type { Db } from "./client";
import { retentionCursors, tenants } from "./schema";

export type CursorJob = "audit" | "totp-reseal" | "checkpoint-resign" | "sso-secret-reseal" | "audit-anchor" | "audit-stream-token-reseal";

/** The key the job's last run stopped after, or null for a new pass. */
export async function readJobCursor(db: Db, job: CursorJob): Promise<string | null> {
  const row = await db.query.retentionCursors.findFirst({ where: eq(retentionCursors.job, job) });
  return row?.tenantId ?? null;
}

export async function saveJobCursor(db: Db, job: CursorJob, after: string | null, nowMs: number): Promise<void> {
  await db
    .insert(retentionCursors)
    .values({ job, tenantId: after, updatedAt: nowMs })
    .onConflictDoUpdate({ target: retentionCursors.job, set: { tenantId: after, updatedAt: nowMs } });
}

/**
 * Reads and handles rows with key > `after` (when not null) and key <= `upTo` (when not
 * null), in key order, at most `limit`; answers the keys of the rows it handled.
 */
export type PageVisitor = (after: string | null, upTo: string | null, limit: number) => Promise<string[]>;

/**
 * Visits at most `maxRows` rows in pages of `pageRows`, starting after the job's cursor
 * and, once the end is reached, going round from the first row up to where it began
 * (a run visits a row at most once); saves where it stopped. `finished` when the pass
 * reached where it began, so every row was visited since the pass started.
 */
export async function resumableWalk(
  db: Db,
  job: CursorJob,
  nowMs: number,
  limits: { maxRows: number; pageRows: number },
  visit: PageVisitor,
): Promise<{ examined: number; finished: boolean }> {
  const startedAfter = await readJobCursor(db, job);
  let examined = 0;
  const leg = async (after: string | null, upTo: string | null) => {
    let cursor = after;
    for (;;) {
      const want = Math.min(limits.pageRows, limits.maxRows - examined);
      if (want <= 0) return { finished: false, last: cursor };
      const keys = await visit(cursor, upTo, want);
      examined += keys.length;
      cursor = keys[keys.length - 1] ?? cursor;
      if (keys.length < want) return { finished: true, last: cursor };
    }
  };
  let walk = await leg(startedAfter, null);
  if (walk.finished && startedAfter !== null) walk = await leg(null, startedAfter);
  await saveJobCursor(db, job, walk.finished ? null : walk.last, nowMs);
  return { examined, finished: walk.finished };
}

/** The ids of up to `limit` tenants with id > `after` and <= `upTo` (each when not null), in id order: a walk of every tenant's page. */
export async function tenantIdPage(db: Db, after: string | null, upTo: string | null, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(after === null ? undefined : gt(tenants.id, after), upTo === null ? undefined : lte(tenants.id, upTo)))
    .orderBy(tenants.id)
    .limit(limit);
  return rows.map((r) => r.id);
}
