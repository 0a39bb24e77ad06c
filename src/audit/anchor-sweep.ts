/**
 * Periodic anchors (./anchors.ts): the hourly cron asks each tenant's object to anchor its
 * chain's head when rows were added since its last anchor, so a rewrite of anything older
 * than an hour (or than the walk's reach, below) is reported by verification. The object
 * remembers the newest seq it anchored (`anchored_seq` in its audit_state): a tenant with
 * nothing new costs one call and one SQLite read.
 *
 * Scale: the cron walks the tenants in id order, at most TENANTS_PER_RUN a run (one call
 * each to its object, within the Workers limit of 1,000 subrequests an invocation shared
 * with the other hourly jobs), resuming after the last one visited (the "audit-anchor"
 * cursor, src/db/job-cursor.ts): with more tenants than that, each one is anchored every
 * ceil(tenants / TENANTS_PER_RUN) hours. A tenant whose object fails is counted and never
 * keeps the walk from the rest.
 *
 * Without AUDIT_ANCHORS nothing is anchored (the run says so); without
 * AUDIT_CHECKPOINT_KEY nothing can be signed and the run is refused, logged.
 */
import { createDb } from "../db/client";
import { resumableWalk, tenantIdPage } from "../db/job-cursor";
import type { Bindings } from "../env";
import type { KeySet } from "../lib/key-set";
import { errorSummary, log } from "../lib/log";
import { type AuditDb, readState, writeState } from "../tenant-object/audit-store";
import { tenantObject } from "../tenant-object/stub";
import { chainHead, signAnchor, writeAnchor } from "./anchors";
import { type CheckpointKeys, checkpointKeySet } from "./checkpoint";

const TENANTS_PER_RUN = 300;
const PAGE_ROWS = 100;

export type HeadAnchoring = "anchored" | "current" | "conflict" | "empty" | "unconfigured";

/**
 * Inside the tenant's object (drained by the caller): anchors the head when it is past the
 * newest seq the object anchored. A key already holding another record ("conflict": the
 * chain was rewritten since, or someone wrote that key) is left as it is and logged;
 * verification reports it.
 */
export async function anchorHead(db: AuditDb, storage: DurableObjectStorage, bucket: R2Bucket, keys: CheckpointKeys, tenantId: string, nowMs: number): Promise<HeadAnchoring> {
  const head = chainHead(db);
  if (!head) return "empty";
  if (head.seq <= readState(storage, "anchored_seq")) return "current";
  const anchor = await signAnchor(keys, { tenantId, seq: head.seq, hash: head.hash, anchoredAt: nowMs, source: "head" });
  if ((await writeAnchor(bucket, anchor)) === "conflict") {
    log.error("audit anchor refused: another record holds the head's key", { tenantId, seq: head.seq });
    return "conflict";
  }
  writeState(storage, "anchored_seq", head.seq);
  return "anchored";
}

export type AnchorRunResult = { anchors: "configured"; anchored: number; failed: number; conflicts: number } | { anchors: "not configured" | "refused: no checkpoint key" };

/** The cron's part: up to `maxTenants` tenants' objects asked to anchor their heads, resuming after the last run's cursor. */
export async function anchorTenants(env: Bindings, nowMs: number, maxTenants = TENANTS_PER_RUN): Promise<AnchorRunResult> {
  if (!env.AUDIT_ANCHORS) return { anchors: "not configured" };
  const keys: KeySet | null = checkpointKeySet(env);
  if (!keys) {
    log.error("audit anchors refused: AUDIT_CHECKPOINT_KEY is missing or invalid");
    return { anchors: "refused: no checkpoint key" };
  }
  const db = createDb(env.DB);
  const result = { anchors: "configured" as const, anchored: 0, failed: 0, conflicts: 0 };
  await resumableWalk(db, "audit-anchor", nowMs, { maxRows: maxTenants, pageRows: PAGE_ROWS }, async (after, upTo, limit) => {
    const ids = await tenantIdPage(db, after, upTo, limit);
    for (const id of ids) {
      try {
        const outcome = await tenantObject(env, id).anchorAudit(id, nowMs, keys);
        if (outcome === "anchored") result.anchored++;
        if (outcome === "conflict") result.conflicts++;
      } catch (err) {
        result.failed++;
        log.error("audit anchor failed", { tenantId: id, error: errorSummary(err) });
      }
    }
    return ids;
  });
  return result;
}
