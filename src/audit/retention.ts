/**
 * Retention (Cron Trigger): prunes audit rows older than AUDIT_RETENTION_DAYS per
 * tenant, and expired housekeeping rows. Pruning removes a prefix of each chain and
 * records the last pruned row's (seq, hash) as the tenant's checkpoint, authenticated
 * with AUDIT_CHECKPOINT_KEY (src/audit/checkpoint.ts), in the same batch, so
 * verification continues from there and the chain stays checkable. Without the key
 * no audit row is pruned.
 */
import { and, eq, isNotNull, lt, lte, max } from "drizzle-orm";
import { parseConfig } from "../config";
import { type Db, createDb } from "../db/client";
import { attemptCounters, auditCheckpoints, auditLogs, eventDedupe, stepupChallenges, tenants } from "../db/schema";
import type { Bindings } from "../env";
import { sealChain } from "./chain";
import { type CheckpointKeys, checkpointKey, signCheckpoint } from "./checkpoint";
import { verifyChain } from "./verify";
import { errorSummary } from "../lib/log";

const DAY_MS = 86_400_000;

/** AUDIT_RETENTION_DAYS, as parseConfig validated it (the scheduled handler checks it before running). */
export function retentionDays(env: Bindings): number {
  return parseConfig(env).auditRetentionDays;
}

/**
 * Prunes the tenant's sealed rows created before the retention window (sealing first,
 * so a row left unsealed is linked before its successors lose their predecessor) and
 * records an authenticated checkpoint at the last pruned row, in the same batch.
 */
async function pruneTenant(db: Db, key: CheckpointKeys, tenantId: string, days: number, nowMs: number): Promise<number> {
  const cutoffMs = nowMs - days * DAY_MS;
  await sealChain(db, tenantId);
  const [edge] = await db
    .select({ seq: max(auditLogs.seq) })
    .from(auditLogs)
    .where(and(eq(auditLogs.tenantId, tenantId), lt(auditLogs.createdAt, cutoffMs), isNotNull(auditLogs.hash)));
  const lastSeq = edge?.seq;
  if (lastSeq === null || lastSeq === undefined) return 0;
  const last = await db.query.auditLogs.findFirst({ where: and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.seq, lastSeq)) });
  if (!last?.hash || last.createdAt >= cutoffMs) return 0;
  // Only a verified prefix is pruned: a broken one (say, recent rows backdated to fall
  // out of the window, which breaks their hashes) stays, with the evidence, for verify.
  const prefix = await verifyChain(db, tenantId, key, nowMs, last.seq);
  if (!prefix.ok) {
    console.error(JSON.stringify({ level: "error", msg: "audit pruning refused: chain broken", tenantId, firstBrokenSeq: prefix.firstBrokenSeq, reason: prefix.reason }));
    return 0;
  }
  const fields = { tenantId, seq: last.seq, hash: last.hash, prunedAt: nowMs, lastCreatedAt: last.createdAt, retentionDays: days };
  const checkpoint = { ...fields, mac: await signCheckpoint(key, fields) };
  const { tenantId: _id, ...update } = checkpoint;
  const [, deleted] = await db.batch([
    db.insert(auditCheckpoints).values(checkpoint).onConflictDoUpdate({ target: auditCheckpoints.tenantId, set: update }),
    db.delete(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), lte(auditLogs.seq, last.seq))),
  ]);
  return deleted.meta.changes;
}

export async function runRetention(env: Bindings, nowMs: number): Promise<{ pruned: Record<string, number>; auditPruning: "done" | "refused" }> {
  const db = createDb(env.DB);
  const days = retentionDays(env);
  const pruned: Record<string, number> = {};
  const key = await checkpointKey(env);
  // Fail closed: a checkpoint nobody can authenticate would make the chain unverifiable.
  if (!key) console.error(JSON.stringify({ level: "error", msg: "audit pruning refused: AUDIT_CHECKPOINT_KEY is missing or invalid" }));
  else {
    for (const { id } of await db.select({ id: tenants.id }).from(tenants)) {
      try {
        const n = await pruneTenant(db, key, id, days, nowMs);
        if (n > 0) pruned[id] = n;
      } catch (err) {
        // One tenant's trouble (e.g. a row edited into unreadable JSON) stops only its own pruning.
        console.error(JSON.stringify({ level: "error", msg: "audit pruning failed", tenantId: id, error: errorSummary(err) }));
      }
    }
  }
  await db.batch([
    db.delete(stepupChallenges).where(lt(stepupChallenges.expiresAt, nowMs - DAY_MS)),
    db.delete(eventDedupe).where(lt(eventDedupe.expiresAt, nowMs)),
    db.delete(attemptCounters).where(lt(attemptCounters.windowStartedAt, nowMs - DAY_MS)),
  ]);
  return { pruned, auditPruning: key ? "done" : "refused" };
}
