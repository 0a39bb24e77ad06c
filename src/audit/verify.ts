import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditCheckpoints } from "../db/schema";
import { GENESIS_HASH, rowHash, sealChain } from "./chain";
import { checkpointProblem } from "./checkpoint";
import { ascendingPage } from "./query";

const PAGE = 500;

export type BrokenReason = "GAP" | "LINK" | "HASH" | "UNSEALED" | "CHECKPOINT_UNAUTHENTIC" | "CHECKPOINT_TOO_RECENT";

export type VerifyResult = {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  reason: BrokenReason | null;
  fromSeq: number;
  headSeq: number;
};

/**
 * Seals what is waiting to be sealed, then walks a tenant's chain from its retention
 * checkpoint (which must be authentic, see checkpoint.ts) or the genesis. A row is
 * broken when its seq is not the next one (a deletion), it is still unsealed (its
 * predecessor is missing), its prev_hash is not the previous row's hash, or its hash
 * does not match its content (an edit). `uptoSeq` stops the walk early (retention checks
 * only the prefix it is about to prune).
 */
export async function verifyChain(db: Db, tenantId: string, key: CryptoKey, nowMs: number, uptoSeq = Number.POSITIVE_INFINITY): Promise<VerifyResult> {
  await sealChain(db, tenantId);
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
    const rows = await ascendingPage(db, tenantId, {}, PAGE, prev.seq);
    for (const row of rows) {
      if (row.seq > uptoSeq) return { ok: true, checked, firstBrokenSeq: null, reason: null, fromSeq, headSeq: prev.seq };
      checked++;
      if (row.seq !== prev.seq + 1) return broken(checked, prev.seq + 1, "GAP");
      const { hash } = row;
      if (hash === null) return broken(checked, row.seq, "UNSEALED");
      if (row.prevHash !== prev.hash) return broken(checked, row.seq, "LINK");
      if ((await rowHash(prev.hash, row)) !== hash) return broken(checked, row.seq, "HASH");
      prev = { seq: row.seq, hash };
    }
    if (rows.length < PAGE) return { ok: true, checked, firstBrokenSeq: null, reason: null, fromSeq, headSeq: prev.seq };
  }
}
