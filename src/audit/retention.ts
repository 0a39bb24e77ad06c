/**
 * Retention (Cron Trigger): prunes audit rows older than AUDIT_RETENTION_DAYS per
 * tenant, and expired housekeeping rows.
 *
 * Chain: pruning removes a prefix of a tenant's chain and records the last pruned row's
 * (seq, hash) as the tenant's checkpoint, authenticated with AUDIT_CHECKPOINT_KEY
 * (./checkpoint.ts), in the same batch as the delete, so verification continues from
 * there (./verify.ts). Without the key no audit row is pruned. Only a prefix whose links
 * and hashes verify from the current checkpoint is pruned, and only rows older than the
 * window: the prefix ends at the first row that is not (a row inside the window is never
 * touched, even if a later row carries an older time).
 *
 * Archive: with the optional AUDIT_ARCHIVE R2 bucket bound, each chunk is written there
 * as NDJSON with its checkpoint (./archive.ts) before its rows are deleted; a write that
 * fails deletes nothing. The object of a run whose delete failed is reused by the next
 * run when it holds that run's chunk, and otherwise removed once a chunk from the same
 * seq has committed (removeLeftovers), so that objects do not overlap.
 *
 * Scale: one run does a bounded amount of work, counted in operations (a D1 query or
 * batch, an R2 call): `budget`, by default 400, well under the Workers limits of 1,000
 * D1 queries and 1,000 subrequests per invocation (Paid plan), with chunks of at most
 * `chunkRows` rows (one R2 object and one D1 batch each). When the budget runs out the
 * last tenant it finished is saved in D1 (`retention_cursors`) and the next run resumes
 * after it; a run that reaches the last tenant starts the next pass from the first (each
 * run visits a tenant at most once). A cursor rather than a Queue: nothing more to
 * provision, every step is idempotent (a run that dies mid-chunk leaves either nothing
 * or an archive the next run recognises or supersedes), and the cron (hourly) is the only
 * producer.
 * Tenants with nothing older than the window are skipped by the page query itself.
 */
import { type SQL, and, asc, eq, gt, inArray, lt, lte, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { type Db, createDb } from "../db/client";
import { assertInBatch } from "../db/invariants";
import { type CursorJob, readJobCursor, saveJobCursor } from "../db/job-cursor";
import { attemptCounters, auditCheckpoints, auditLogs, eventDedupe, ssoLogoutTokens, stepupChallenges, webauthnChallenges, tenants } from "../db/schema";
import { parseConfig } from "../config";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { type ArchiveCheckpoint, type ArchiveChunk, archiveChunk, supersedeLeftovers } from "./archive";
import { GENESIS_HASH, sealChain } from "./chain";
import { type CheckpointKeys, checkpointKey, checkpointProblem, signCheckpoint } from "./checkpoint";
import { ascendingPage } from "./query";
import { linkProblem } from "./verify";

const DAY_MS = 86_400_000;
const JOB: CursorJob = "audit";

export type RetentionOptions = {
  /** Operations (D1 queries and batches, R2 calls) one run may spend. */
  budget?: number;
  /** Rows per archived and pruned chunk. */
  chunkRows?: number;
  /** Tenants read per page of the tenant walk. */
  tenantPage?: number;
  /** Expired housekeeping rows deleted per table and run. */
  housekeepingRows?: number;
};

const DEFAULTS: Required<RetentionOptions> = { budget: 400, chunkRows: 1000, tenantPage: 200, housekeepingRows: 5000 };
/**
 * The most one chunk costs: checkpoint read, seal (2), rows read, archive put and get,
 * batch, then the listing of failed runs' objects, the read of D1 hashes past the chunk
 * and their delete.
 */
const CHUNK_COST = 10;

export type RetentionResult = {
  pruned: Record<string, number>;
  archivedObjects: number;
  auditPruning: "done" | "refused";
  /** The next run resumes after this tenant; null: from the first (this run finished its pass). */
  resumeAfter: string | null;
};

type Budget = { left: number };
type ChunkOutcome = { kind: "pruned"; rows: number; archived: boolean } | { kind: "done" } | { kind: "refused" };

type TenantRun = { db: Db; key: CheckpointKeys; archive: R2Bucket | undefined; tenantId: string; days: number; nowMs: number; chunkRows: number };

/** One chunk of one tenant: read, verify, archive, then checkpoint and delete in one batch. */
async function pruneChunk(run: TenantRun): Promise<ChunkOutcome> {
  const { db, key, tenantId, days, nowMs } = run;
  const cutoffMs = nowMs - days * DAY_MS;
  const checkpoint = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  if (checkpoint) {
    const problem = await checkpointProblem(key, checkpoint, nowMs);
    if (problem) return refuse(tenantId, "audit pruning refused: checkpoint", { seq: checkpoint.seq, reason: problem });
  }
  const prev = checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : { seq: 0, hash: GENESIS_HASH };
  let rows;
  try {
    rows = await ascendingPage(db, tenantId, {}, run.chunkRows, prev.seq);
  } catch (err) {
    // A row edited into JSON that no longer parses: verification reports it, nothing is pruned.
    if (err instanceof SyntaxError) return refuse(tenantId, "audit pruning refused: unreadable row", { afterSeq: prev.seq });
    throw err;
  }
  const prefix = [];
  let link = prev;
  for (const row of rows) {
    // The prefix ends at the first row inside the window, or one not yet sealed.
    if (row.createdAt >= cutoffMs || row.hash === null) break;
    const problem = await linkProblem(link, row);
    // A broken prefix (say, recent rows backdated to fall out of the window, which breaks
    // their hashes) stays, with the evidence, for verification to report.
    if (problem) return refuse(tenantId, "audit pruning refused: chain broken", { firstBrokenSeq: problem === "GAP" ? link.seq + 1 : row.seq, reason: problem });
    prefix.push(row);
    link = { seq: row.seq, hash: row.hash };
  }
  const last = prefix.at(-1);
  if (!last?.hash) return { kind: "done" };

  const fields = { tenantId, seq: last.seq, hash: last.hash, prunedAt: nowMs, lastCreatedAt: last.createdAt, retentionDays: days };
  let covering: ArchiveCheckpoint = { ...fields, mac: await signCheckpoint(key, fields) };
  if (run.archive) {
    try {
      covering = await archiveChunk(run.archive, key, { prev, rows: prefix, checkpoint: covering }, nowMs);
    } catch (err) {
      return refuse(tenantId, "audit pruning refused: archive write failed", { fromSeq: prev.seq + 1, toSeq: last.seq, error: errorSummary(err) });
    }
  }
  const { tenantId: _id, ...update } = covering;
  const [, , , deleted] = await db.batch([
    // Moves the checkpoint only from where this chunk started. If a concurrent run moved it
    // first, to any seq (even this chunk's last), this upsert changes no row and the guard
    // right after it aborts the batch, delete included: only the run whose upsert moved
    // the checkpoint goes on to remove leftovers.
    db.insert(auditCheckpoints).values(covering).onConflictDoUpdate({ target: auditCheckpoints.tenantId, set: update, setWhere: eq(auditCheckpoints.seq, prev.seq) }),
    ...assertInBatch(db, tenantId, `retention checkpoint ${tenantId}`, sql`changes() = 1`),
    db.delete(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), gt(auditLogs.seq, prev.seq), lte(auditLogs.seq, last.seq))),
  ]);
  if (run.archive) await removeLeftovers(run, run.archive, { prev, rows: prefix, checkpoint: covering });
  return { kind: "pruned", rows: deleted.meta.changes, archived: run.archive !== undefined };
}

/**
 * After a chunk committed: the objects earlier runs left from the same seq go
 * (./archive.ts, supersedeLeftovers). The chunk is pruned either way; what a failure here
 * leaves, the offline verifier reports as overlapping, not as a gap.
 */
async function removeLeftovers(run: TenantRun, bucket: R2Bucket, chunk: ArchiveChunk): Promise<void> {
  const { db, tenantId } = run;
  const storedHashes = async (seqs: number[]) => {
    const rows = await db
      .select({ seq: auditLogs.seq, hash: auditLogs.hash })
      .from(auditLogs)
      .where(and(eq(auditLogs.tenantId, tenantId), inArray(auditLogs.seq, seqs)));
    return new Map(rows.flatMap((row) => (row.hash === null ? [] : [[row.seq, row.hash] as const])));
  };
  try {
    const removed = await supersedeLeftovers(bucket, chunk, storedHashes);
    if (removed.length > 0) log.info("audit archive: objects of failed runs superseded", { tenantId, keys: removed });
  } catch (err) {
    log.error("audit archive: objects of failed runs not removed", { tenantId, fromSeq: chunk.prev.seq + 1, error: errorSummary(err) });
  }
}

function refuse(tenantId: string, msg: string, fields: Record<string, unknown>): ChunkOutcome {
  log.error(msg, { tenantId, ...fields });
  return { kind: "refused" };
}

/** Due tenants (with rows older than the cutoff) after `after`, in id order, a page at a time. */
function duePage(db: Db, after: string | null, cutoffMs: number, limit: number) {
  return db
    .select({ id: tenants.id })
    .from(tenants)
    .where(
      and(
        after === null ? undefined : gt(tenants.id, after),
        sql`EXISTS (SELECT 1 FROM ${auditLogs} WHERE ${auditLogs.tenantId} = ${tenants.id} AND ${auditLogs.createdAt} < ${cutoffMs})`,
      ),
    )
    .orderBy(asc(tenants.id))
    .limit(limit);
}

type Walk = { finished: boolean; after: string | null };

/**
 * Prunes the due tenants after `after` until the budget runs out (answers the last
 * tenant finished: the next run resumes after it) or every one was visited. `through`
 * ends the walk after that tenant (a wrapped-around pass stops where this run began).
 */
async function walkTenants(run: Omit<TenantRun, "tenantId">, budget: Budget, after: string | null, through: string | null, tenantPage: number, result: RetentionResult): Promise<Walk> {
  const cutoffMs = run.nowMs - run.days * DAY_MS;
  let done = after;
  for (;;) {
    if (budget.left < 1 + CHUNK_COST) return { finished: false, after: done };
    budget.left -= 1;
    const page = await duePage(run.db, done, cutoffMs, tenantPage);
    for (const { id } of page) {
      if (through !== null && id > through) return { finished: true, after: null };
      try {
        await sealChain(run.db, id, 1);
        for (;;) {
          // Out of budget inside a tenant: the next run starts again at this tenant.
          if (budget.left < CHUNK_COST) return { finished: false, after: done };
          budget.left -= CHUNK_COST;
          const outcome = await pruneChunk({ ...run, tenantId: id });
          if (outcome.kind !== "pruned") break;
          result.pruned[id] = (result.pruned[id] ?? 0) + outcome.rows;
          if (outcome.archived) result.archivedObjects++;
        }
      } catch (err) {
        // One tenant's trouble stops only its own pruning.
        log.error("audit pruning failed", { tenantId: id, error: errorSummary(err) });
      }
      done = id;
    }
    if (page.length < tenantPage) return { finished: true, after: null };
  }
}

export async function runRetention(env: Bindings, nowMs: number, options: RetentionOptions = {}): Promise<RetentionResult> {
  const { budget: total, chunkRows, tenantPage, housekeepingRows } = { ...DEFAULTS, ...options };
  const db = createDb(env.DB);
  const days = parseConfig(env).auditRetentionDays;
  const result: RetentionResult = { pruned: {}, archivedObjects: 0, auditPruning: "done", resumeAfter: null };
  const key = await checkpointKey(env);
  const budget: Budget = { left: total };
  if (!key) {
    // Fail closed: a checkpoint nobody can authenticate would make the chain unverifiable.
    log.error("audit pruning refused: AUDIT_CHECKPOINT_KEY is missing or invalid");
    result.auditPruning = "refused";
  } else {
    const run = { db, key, archive: env.AUDIT_ARCHIVE, days, nowMs, chunkRows };
    const startedAfter = await readJobCursor(db, JOB);
    budget.left -= 1;
    let walk = await walkTenants(run, budget, startedAfter, null, tenantPage, result);
    // The pass ended with budget to spare: the next pass begins now, up to where this run began.
    if (walk.finished && startedAfter !== null) walk = await walkTenants(run, budget, null, startedAfter, tenantPage, result);
    const resumeAfter = walk.finished ? null : walk.after;
    result.resumeAfter = resumeAfter;
    await saveJobCursor(db, JOB, resumeAfter, nowMs);
  }
  // Housekeeping, bounded too: what is left is deleted by the next run.
  const oldest = <T extends SQLiteTable>(table: T, condition: SQL) =>
    db.delete(table).where(sql`rowid IN (SELECT rowid FROM ${table} WHERE ${condition} LIMIT ${housekeepingRows})`);
  await db.batch([
    oldest(stepupChallenges, lt(stepupChallenges.expiresAt, nowMs - DAY_MS)),
    oldest(eventDedupe, lt(eventDedupe.expiresAt, nowMs)),
    oldest(webauthnChallenges, lt(webauthnChallenges.expiresAt, nowMs - DAY_MS)),
    oldest(attemptCounters, lt(attemptCounters.windowStartedAt, nowMs - DAY_MS)),
    // A back-channel logout token's use, once the token could no longer be accepted (src/sso/backchannel-logout.ts).
    oldest(ssoLogoutTokens, lt(ssoLogoutTokens.expiresAt, nowMs)),
  ]);
  return result;
}
