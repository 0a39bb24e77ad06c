/**
 * Retention (Cron Trigger): prunes audit rows older than AUDIT_RETENTION_DAYS per
 * tenant, and expired housekeeping rows. A tenant's chain lives in its Durable Object:
 * the cron visits the tenants whose oldest row (as their objects report it to D1's
 * `audit_oldest`) is older than the window, and each object prunes its own chain
 * (retainTenant, run inside the object).
 *
 * Chain: pruning removes a prefix of a tenant's chain and records the last pruned row's
 * (seq, hash) as the tenant's checkpoint, authenticated with AUDIT_CHECKPOINT_KEY
 * (./checkpoint.ts), in the same SQLite transaction as the delete, so verification continues from
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
 * Anchors: with the AUDIT_ANCHORS R2 bucket bound, each checkpoint's (seq, hash) is
 * anchored there (./anchors.ts) after its archive and before its rows are deleted; an
 * anchor that cannot be written (R2 fails, or another record holds its key) deletes nothing.
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
import { type CursorJob, readJobCursor, saveJobCursor } from "../db/job-cursor";
import { attemptCounters, auditCheckpoints, auditLogs, auditOldest, eventDedupe, ssoLogoutTokens, stepupChallenges, webauthnChallenges } from "../db/schema";
import type { AuditDb } from "../tenant-object/audit-store";
import { tenantObject } from "../tenant-object/stub";
import { parseConfig } from "../config";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { signAnchor, writeAnchor } from "./anchors";
import { type ArchiveCheckpoint, type ArchiveChunk, archiveChunk, supersedeLeftovers } from "./archive";
import { GENESIS_HASH } from "./chain";
import { type CheckpointKeys, checkpointKeySet, checkpointProblem, signCheckpoint } from "./checkpoint";
import type { KeySet } from "../lib/key-set";
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
 * What one chunk counts for: the object's call is one subrequest of the cron, and inside the
 * object a chunk costs its archive put and get, the listing of failed runs' objects and
 * their delete, and its anchor's put (the object's own limits); counted as before the chain moved, so a run's
 * budget bounds the same work.
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

type TenantRun = { db: AuditDb; key: CheckpointKeys; archive: R2Bucket | undefined; anchors: R2Bucket | undefined; tenantId: string; days: number; nowMs: number; chunkRows: number };

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
  if (run.anchors) {
    const anchored = await anchorCheckpoint(run.anchors, key, covering, nowMs).catch((err: unknown) => errorSummary(err));
    if (anchored !== null) return refuse(tenantId, "audit pruning refused: checkpoint not anchored", { seq: covering.seq, problem: anchored });
  }
  const { tenantId: _id, ...update } = covering;
  // Moves the checkpoint only from where this chunk started: if another run moved it
  // meanwhile (the archive write let it in), nothing is deleted and only the run that moved
  // it goes on to remove leftovers.
  const committed = db.transaction((tx) => {
    const current = tx.select({ seq: auditCheckpoints.seq }).from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).get();
    if ((current?.seq ?? 0) !== prev.seq) return false;
    tx.insert(auditCheckpoints).values(covering).onConflictDoUpdate({ target: auditCheckpoints.tenantId, set: update }).run();
    tx.delete(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), gt(auditLogs.seq, prev.seq), lte(auditLogs.seq, last.seq))).run();
    return true;
  });
  if (!committed) return refuse(tenantId, "audit pruning refused: checkpoint moved by another run", { seq: prev.seq });
  if (run.archive) await removeLeftovers(run, run.archive, { prev, rows: prefix, checkpoint: covering });
  return { kind: "pruned", rows: prefix.length, archived: run.archive !== undefined };
}

/** The checkpoint's head anchored in R2 (./anchors.ts) before its rows go; null when it is, or why not. */
async function anchorCheckpoint(bucket: R2Bucket, key: CheckpointKeys, checkpoint: ArchiveCheckpoint, nowMs: number): Promise<string | null> {
  const anchor = await signAnchor(key, { tenantId: checkpoint.tenantId, seq: checkpoint.seq, hash: checkpoint.hash, anchoredAt: nowMs, source: "checkpoint" });
  return (await writeAnchor(bucket, anchor)) === "conflict" ? "another record holds the checkpoint's anchor key" : null;
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

/** Due tenants (whose oldest row is older than the cutoff) after `after`, in id order, a page at a time. */
function duePage(db: Db, after: string | null, cutoffMs: number, limit: number) {
  return db
    .select({ id: auditOldest.tenantId })
    .from(auditOldest)
    .where(and(after === null ? undefined : gt(auditOldest.tenantId, after), lt(auditOldest.createdAt, cutoffMs)))
    .orderBy(asc(auditOldest.tenantId))
    .limit(limit);
}

export type RetainOptions = { nowMs: number; days: number; chunkRows: number; maxChunks: number };
export type RetainOutcome = { pruned: number; archivedObjects: number; chunks: number; more: boolean };

/**
 * One tenant's pruning, inside its object: up to `maxChunks` chunks, until nothing more is
 * due or a chunk is refused. `more`: the chunks ran out with rows still due.
 */
export async function retainTenant(db: AuditDb, using: { keys: CheckpointKeys; archive: R2Bucket | undefined; anchors?: R2Bucket | undefined }, tenantId: string, options: RetainOptions): Promise<RetainOutcome> {
  const run: TenantRun = { db, key: using.keys, archive: using.archive, anchors: using.anchors, tenantId, days: options.days, nowMs: options.nowMs, chunkRows: options.chunkRows };
  const outcome: RetainOutcome = { pruned: 0, archivedObjects: 0, chunks: 0, more: false };
  for (;;) {
    if (outcome.chunks >= options.maxChunks) return { ...outcome, more: true };
    outcome.chunks++;
    const chunk = await pruneChunk(run);
    if (chunk.kind !== "pruned") return outcome;
    outcome.pruned += chunk.rows;
    if (chunk.archived) outcome.archivedObjects++;
  }
}

type Walk = { finished: boolean; after: string | null };

/**
 * Prunes the due tenants after `after` until the budget runs out (answers the last
 * tenant finished: the next run resumes after it) or every one was visited. `through`
 * ends the walk after that tenant (a wrapped-around pass stops where this run began).
 */
async function walkTenants(env: Bindings, run: { db: Db; keys: KeySet; days: number; nowMs: number; chunkRows: number }, budget: Budget, after: string | null, through: string | null, tenantPage: number, result: RetentionResult): Promise<Walk> {
  const cutoffMs = run.nowMs - run.days * DAY_MS;
  let done = after;
  for (;;) {
    if (budget.left < 1 + CHUNK_COST) return { finished: false, after: done };
    budget.left -= 1;
    const page = await duePage(run.db, done, cutoffMs, tenantPage);
    for (const { id } of page) {
      if (through !== null && id > through) return { finished: true, after: null };
      const maxChunks = Math.floor(budget.left / CHUNK_COST);
      if (maxChunks < 1) return { finished: false, after: done };
      try {
        const outcome = await tenantObject(env, id).retainAudit(id, { nowMs: run.nowMs, days: run.days, chunkRows: run.chunkRows, maxChunks }, run.keys);
        budget.left -= outcome.chunks * CHUNK_COST;
        if (outcome.pruned > 0) result.pruned[id] = (result.pruned[id] ?? 0) + outcome.pruned;
        result.archivedObjects += outcome.archivedObjects;
        // Out of budget inside a tenant: the next run starts again at this tenant.
        if (outcome.more) return { finished: false, after: done };
      } catch (err) {
        // One tenant's trouble stops only its own pruning.
        budget.left -= CHUNK_COST;
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
  const keys = checkpointKeySet(env);
  const budget: Budget = { left: total };
  if (!keys) {
    // Fail closed: a checkpoint nobody can authenticate would make the chain unverifiable.
    log.error("audit pruning refused: AUDIT_CHECKPOINT_KEY is missing or invalid");
    result.auditPruning = "refused";
  } else {
    const run = { db, keys, days, nowMs, chunkRows };
    const startedAfter = await readJobCursor(db, JOB);
    budget.left -= 1;
    let walk = await walkTenants(env, run, budget, startedAfter, null, tenantPage, result);
    // The pass ended with budget to spare: the next pass begins now, up to where this run began.
    if (walk.finished && startedAfter !== null) walk = await walkTenants(env, run, budget, null, startedAfter, tenantPage, result);
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
