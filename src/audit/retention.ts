/**
 * Retention (Cron Trigger): prunes audit rows older than AUDIT_RETENTION_DAYS per
 * tenant, and expired housekeeping rows. Pruning removes a prefix of each chain and
 * records the last pruned row's (seq, hash) as the tenant's checkpoint, in the same
 * batch, so verification continues from there and the chain stays checkable.
 */
import { and, eq, lt, lte, max, sql } from "drizzle-orm";
import { type Db, createDb } from "../db/client";
import { attemptCounters, auditCheckpoints, auditLogs, eventDedupe, stepupChallenges, tenants } from "../db/schema";
import type { Bindings } from "../env";

// SOC 2 evidence windows are typically 12 months; keep 400 days unless configured.
const DEFAULT_RETENTION_DAYS = 400;
const DAY_MS = 86_400_000;

export function retentionDays(env: Bindings): number {
  const raw = env.AUDIT_RETENTION_DAYS;
  if (raw === undefined || raw === "") return DEFAULT_RETENTION_DAYS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Invalid AUDIT_RETENTION_DAYS: ${raw}`);
  return n;
}

async function pruneTenant(db: Db, tenantId: string, cutoffMs: number, nowMs: number): Promise<number> {
  const [edge] = await db
    .select({ seq: max(auditLogs.seq) })
    .from(auditLogs)
    .where(and(eq(auditLogs.tenantId, tenantId), lt(auditLogs.createdAt, cutoffMs)));
  const lastSeq = edge?.seq;
  if (lastSeq === null || lastSeq === undefined) return 0;
  const last = await db.query.auditLogs.findFirst({ where: and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.seq, lastSeq)) });
  if (!last) return 0;
  const [, deleted] = await db.batch([
    db
      .insert(auditCheckpoints)
      .values({ tenantId, seq: last.seq, hash: last.hash, prunedAt: nowMs })
      .onConflictDoUpdate({ target: auditCheckpoints.tenantId, set: { seq: last.seq, hash: last.hash, prunedAt: sql`excluded.pruned_at` } }),
    db.delete(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), lte(auditLogs.seq, last.seq))),
  ]);
  return deleted.meta.changes;
}

export async function runRetention(env: Bindings, nowMs: number): Promise<{ pruned: Record<string, number> }> {
  const db = createDb(env.DB);
  const cutoffMs = nowMs - retentionDays(env) * DAY_MS;
  const pruned: Record<string, number> = {};
  for (const { id } of await db.select({ id: tenants.id }).from(tenants)) {
    const n = await pruneTenant(db, id, cutoffMs, nowMs);
    if (n > 0) pruned[id] = n;
  }
  await db.batch([
    db.delete(stepupChallenges).where(lt(stepupChallenges.expiresAt, nowMs - DAY_MS)),
    db.delete(eventDedupe).where(lt(eventDedupe.expiresAt, nowMs)),
    db.delete(attemptCounters).where(lt(attemptCounters.windowStartedAt, nowMs - DAY_MS)),
  ]);
  return { pruned };
}
