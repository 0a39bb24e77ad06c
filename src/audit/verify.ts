import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditCheckpoints } from "../db/schema";
import { GENESIS_HASH, rowHash } from "./chain";
import { ascendingPage } from "./query";

const PAGE = 500;

export type VerifyResult = { ok: boolean; checked: number; firstBrokenSeq: number | null; fromSeq: number; headSeq: number };

/**
 * Walks a tenant's chain from its retention checkpoint (or the genesis). A row is
 * broken when its seq is not the next one (a deletion), its prev_hash is not the
 * previous row's hash, or its hash does not match its content (an edit).
 */
export async function verifyChain(db: Db, tenantId: string): Promise<VerifyResult> {
  const checkpoint = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  let prev = checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : { seq: 0, hash: GENESIS_HASH };
  const fromSeq = prev.seq;
  let checked = 0;
  for (;;) {
    const rows = await ascendingPage(db, tenantId, {}, PAGE, prev.seq);
    for (const row of rows) {
      checked++;
      if (row.seq !== prev.seq + 1) return { ok: false, checked, firstBrokenSeq: prev.seq + 1, fromSeq, headSeq: prev.seq };
      const { hash, ...fields } = row;
      if (row.prevHash !== prev.hash || (await rowHash(prev.hash, fields)) !== hash) {
        return { ok: false, checked, firstBrokenSeq: row.seq, fromSeq, headSeq: prev.seq };
      }
      prev = { seq: row.seq, hash };
    }
    if (rows.length < PAGE) return { ok: true, checked, firstBrokenSeq: null, fromSeq, headSeq: prev.seq };
  }
}
