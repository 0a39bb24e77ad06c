/**
 * Periodic anchors (./anchors.ts): the hourly cron asks each tenant's object to anchor its
 * chain's head when rows were added since its last anchor (or AUDIT_CHECKPOINT_KEY's
 * current key changed since, see anchorHead), so a rewrite of anything older
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
import { anchorAuthentic, chainHashAt, chainHead, readAnchor, signAnchor, writeAnchor } from "./anchors";
import { type CheckpointKeys, checkpointKeySet } from "./checkpoint";

const TENANTS_PER_RUN = 300;
const PAGE_ROWS = 100;

export type HeadAnchoring = "anchored" | "current" | "conflict" | "empty" | "unconfigured";

/** The id of the key that signed the object's newest anchor (beside `anchored_seq`). */
const ANCHORED_KEY = "audit_anchored_key";

/**
 * Inside the tenant's object (drained by the caller): anchors the head when it is past the
 * newest seq the object anchored, or when that anchor was signed by a key that is no
 * longer the current one (a rotation: old anchors are never re-signed, and one under the
 * new key must cover the chain before the old key may leave the set). Then the previous
 * anchor, while its key can still verify it, must still match the chain: a chain
 * rewritten meanwhile is refused ("conflict"), never anchored afresh under the new key
 * (which would launder it once the old key is gone). A key already holding another record
 * ("conflict" too: the chain was rewritten since, or someone wrote that key) is left as it
 * is. Both are logged; verification reports them.
 */
export async function anchorHead(db: AuditDb, storage: DurableObjectStorage, bucket: R2Bucket, keys: CheckpointKeys, tenantId: string, nowMs: number): Promise<HeadAnchoring> {
  const head = chainHead(db);
  if (!head) return "empty";
  const last = readState(storage, "anchored_seq");
  const lastKeyId = await storage.get<string>(ANCHORED_KEY);
  if (head.seq <= last && lastKeyId === keys.current.id) return "current";
  if (lastKeyId !== undefined && lastKeyId !== keys.current.id && !(await previousStillMatches(db, bucket, keys, tenantId, last, lastKeyId))) {
    log.error("audit anchor refused: the chain no longer matches its previous anchor", { tenantId, seq: last });
    return "conflict";
  }
  const anchor = await signAnchor(keys, { tenantId, seq: head.seq, hash: head.hash, anchoredAt: nowMs, source: "head" });
  if ((await writeAnchor(bucket, anchor)) === "conflict") {
    log.error("audit anchor refused: another record holds the head's key", { tenantId, seq: head.seq });
    return "conflict";
  }
  writeState(storage, "anchored_seq", head.seq);
  await storage.put(ANCHORED_KEY, keys.current.id);
  return "anchored";
}

/**
 * Whether the anchor at `seq` signed by `keyId` still names the hash the chain holds
 * there (the row's, or the checkpoint's once pruned). One whose key already left the set
 * cannot be checked and does not stop the new anchor (logged).
 */
async function previousStillMatches(db: AuditDb, bucket: R2Bucket, keys: CheckpointKeys, tenantId: string, seq: number, keyId: string): Promise<boolean> {
  if (!keys.find(keyId)) {
    log.warn("audit anchor: the previous anchor's key left the set before the head was anchored under the new one", { tenantId, seq, keyId });
    return true;
  }
  const previous = await readAnchor(bucket, tenantId, seq, keyId);
  return previous !== null && (await anchorAuthentic(keys, previous)) && previous.hash === chainHashAt(db, tenantId, seq);
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
