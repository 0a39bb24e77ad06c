import { and, asc, eq, gt } from "drizzle-orm";
import type { AuditDb as Db } from "../tenant-object/audit-store";
import { type AuditLog, auditCheckpoints, auditLogs } from "../db/schema";
import { GENESIS_HASH, rowHash } from "./chain";
import { type CheckpointKeys, checkpointProblem } from "./checkpoint";
import { ascendingPage } from "./query";

const PAGE = 500;

export type BrokenReason = "GAP" | "LINK" | "HASH" | "UNSEALED" | "UNREADABLE" | "CHECKPOINT_UNAUTHENTIC" | "CHECKPOINT_TOO_RECENT";

export type VerifyResult = {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  reason: BrokenReason | null;
  fromSeq: number;
  headSeq: number;
};

/**
 * Walks a tenant's chain (in its object, drained first by the caller) from its retention
 * checkpoint (which must be authentic, see checkpoint.ts) or the genesis. A row is
 * broken when its seq is not the next one (a deletion), it is still unsealed (its
 * predecessor is missing), its prev_hash is not the previous row's hash, or its hash
 * does not match its content (an edit). `uptoSeq` stops the walk early (retention checks
 * only the prefix it is about to prune). A chain rewritten and re-sealed from some row on
 * passes this walk: the tenant's object then compares it with the anchors kept outside
 * its store (./anchor-check.ts).
 */
export async function verifyChain(db: Db, tenantId: string, key: CheckpointKeys, nowMs: number, uptoSeq = Number.POSITIVE_INFINITY): Promise<VerifyResult> {
  const checkpoint = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  let prev = checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : { seq: 0, hash: GENESIS_HASH };
  const fromSeq = prev.seq;
  const broken = (checked: number, seq: number, reason: BrokenReason): VerifyResult => ({
    ok: false,
    checked,
    firstBrokenSeq: seq,
    reason,
    fromSeq,
    headSeq: prev.seq,
  });
  if (checkpoint) {
    const problem = await checkpointProblem(key, checkpoint, nowMs);
    if (problem) return broken(0, checkpoint.seq, problem);
  }
  let checked = 0;
  for (;;) {
    const { rows, unreadableSeq } = await readPage(db, tenantId, prev.seq);
    for (const row of rows) {
      if (row.seq > uptoSeq) return { ok: true, checked, firstBrokenSeq: null, reason: null, fromSeq, headSeq: prev.seq };
      checked++;
      const problem = await linkProblem(prev, row);
      if (problem) return broken(checked, problem === "GAP" ? prev.seq + 1 : row.seq, problem);
      prev = { seq: row.seq, hash: row.hash as string };
    }
    if (unreadableSeq !== null) {
      return unreadableSeq === prev.seq + 1 ? broken(checked + 1, unreadableSeq, "UNREADABLE") : broken(checked + 1, prev.seq + 1, "GAP");
    }
    if (rows.length < PAGE) return { ok: true, checked, firstBrokenSeq: null, reason: null, fromSeq, headSeq: prev.seq };
  }
}

export type ChainLinkProblem = "GAP" | "UNSEALED" | "LINK" | "HASH";

/**
 * Why `row` does not continue the chain after `prev` (a row, a checkpoint or the
 * genesis), or null when it does: the one check of a link, shared by verification and
 * by retention before it archives and prunes a prefix.
 */
export async function linkProblem(prev: { seq: number; hash: string }, row: AuditLog): Promise<ChainLinkProblem | null> {
  if (row.seq !== prev.seq + 1) return "GAP";
  if (row.hash === null) return "UNSEALED";
  if (row.prevHash !== prev.hash) return "LINK";
  if ((await rowHash(prev.hash, row)) !== row.hash) return "HASH";
  return null;
}

/**
 * Up to a page of rows after `afterSeq`. A row whose JSON columns no longer parse
 * (edited in storage) cannot be decoded: the page then ends before it and names its seq,
 * so verification reports it instead of failing with a server error.
 */
async function readPage(db: Db, tenantId: string, afterSeq: number): Promise<{ rows: AuditLog[]; unreadableSeq: number | null }> {
  try {
    return { rows: await ascendingPage(db, tenantId, {}, PAGE, afterSeq), unreadableSeq: null };
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  const rows: AuditLog[] = [];
  for (let after = afterSeq; rows.length < PAGE; ) {
    try {
      const [row] = await ascendingPage(db, tenantId, {}, 1, after);
      if (!row) break;
      rows.push(row);
      after = row.seq;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      const [next] = await db
        .select({ seq: auditLogs.seq })
        .from(auditLogs)
        .where(and(eq(auditLogs.tenantId, tenantId), gt(auditLogs.seq, after)))
        .orderBy(asc(auditLogs.seq))
        .limit(1);
      return { rows, unreadableSeq: next?.seq ?? after + 1 };
    }
  }
  return { rows, unreadableSeq: null };
}
