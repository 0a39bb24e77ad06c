/**
 * Verification against the anchors (./anchors.ts), inside the tenant's object after the
 * chain verified by itself (./verify.ts). Every listed anchor at or after the checkpoint's
 * seq must be authentic (its MAC one of AUDIT_CHECKPOINT_KEY's) and name the hash the
 * chain holds at its seq: the row's, or the checkpoint's when that seq was pruned. A
 * rewrite re-sealed from row k onwards leaves the chain consistent, but the first anchor
 * at or after k no longer matches: that seq is reported (ANCHOR_MISMATCH), and every
 * row up to `matchedThroughSeq` is as it was anchored. An anchor whose row is gone (the
 * chain's tail deleted) does not match either.
 *
 * A forged anchor (a bad MAC, another tenant's, malformed) is ANCHOR_UNAUTHENTIC and
 * trusted for nothing; one whose MAC names a key no longer in the set is counted
 * (`retiredKey`) and trusted for nothing either (see `standing`). The object also remembers the newest seq it
 * anchored itself (`anchored_seq`, ./anchor-sweep.ts): if R2 no longer lists that anchor
 * (deleted from a bucket without a lock), that is ANCHOR_MISSING. Anchors behind the
 * checkpoint cover pruned rows: they are counted, and the offline verifier checks them
 * against the archive.
 *
 * The failure reported is the one at the lowest seq, the chain's own when they tie.
 */
import { eq, sql } from "drizzle-orm";
import { auditCheckpoints, auditLogs } from "../db/schema";
import type { AuditDb } from "../tenant-object/audit-store";
import { type Anchor, type AnchorListing, anchorAuthentic, anchorKey, anchorKeyId, parseAnchor, seqOfAnchorKey } from "./anchors";
import type { CheckpointKeys } from "./checkpoint";
import type { VerifyResult } from "./verify";

export type AnchorReason = "ANCHOR_MISMATCH" | "ANCHOR_UNAUTHENTIC" | "ANCHOR_MISSING";

export type AnchorReport =
  | { configured: false }
  | {
      configured: true;
      /** Anchors compared with the chain (and matching it, up to a failure). */
      checked: number;
      /** Anchors of pruned rows, before the checkpoint (the offline verifier checks them against the archive). */
      behindCheckpoint: number;
      /** Anchors signed by a key no longer in AUDIT_CHECKPOINT_KEY's set: not compared (trusted for nothing). */
      retiredKey: number;
      /** The highest anchored seq that matched: rows up to it are as anchored. */
      matchedThroughSeq: number | null;
      /** The newest anchored seq listed: rows after it are covered by no anchor yet. */
      latestSeq: number | null;
    };

export type VerifiedChain = Omit<VerifyResult, "reason"> & { reason: VerifyResult["reason"] | AnchorReason; anchors: AnchorReport };

type Problem = { seq: number; reason: AnchorReason };

/** The stored hashes at these seqs (one bound parameter: a Durable Object's SQLite allows few). */
function storedHashes(db: AuditDb, seqs: number[]): Map<number, string | null> {
  if (seqs.length === 0) return new Map();
  const rows = db
    .select({ seq: auditLogs.seq, hash: auditLogs.hash })
    .from(auditLogs)
    .where(sql`${auditLogs.seq} IN (SELECT value FROM json_each(${JSON.stringify(seqs)}))`)
    .all();
  return new Map(rows.map((r) => [r.seq, r.hash]));
}

/**
 * What a listed record is: "retired" when its MAC names a key no longer in the set (it is
 * trusted for nothing, and fails nothing: the cron anchored the head again under the new
 * key before the old one could leave, ./anchor-sweep.ts); "authentic" when it is this
 * tenant's anchor for the object key it is stored under, with a MAC of that key; else
 * "forged".
 */
async function standing(keys: CheckpointKeys, tenantId: string, key: string, anchor: Anchor | null): Promise<"authentic" | "retired" | "forged"> {
  const keyId = anchor ? anchorKeyId(anchor) : null;
  if (!anchor || keyId === null || anchor.tenantId !== tenantId || anchorKey(tenantId, anchor.seq, keyId) !== key) return "forged";
  if (!keys.find(keyId)) return "retired";
  return (await anchorAuthentic(keys, anchor)) ? "authentic" : "forged";
}

async function checkAnchors(db: AuditDb, tenantId: string, keys: CheckpointKeys, anchors: AnchorListing & { configured: true }, anchoredSeq: number): Promise<{ report: AnchorReport; problem: Problem | null }> {
  const checkpoint = db.select({ seq: auditCheckpoints.seq, hash: auditCheckpoints.hash }).from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).get();
  const fromSeq = checkpoint?.seq ?? 0;
  const listed = anchors.anchors
    .map(({ key, text }) => ({ key, seq: seqOfAnchorKey(tenantId, key), anchor: parseAnchor(text ?? undefined) }))
    .sort((a, b) => a.seq - b.seq);
  const report = { configured: true as const, checked: 0, behindCheckpoint: 0, retiredKey: 0, matchedThroughSeq: null as number | null, latestSeq: listed.at(-1)?.seq ?? null };
  const hashes = storedHashes(db, listed.filter((l) => l.seq > fromSeq).map((l) => l.seq));
  let problem: Problem | null = null;
  for (const { key, seq, anchor } of listed) {
    if (seq < fromSeq) {
      report.behindCheckpoint++;
      continue;
    }
    const trust = await standing(keys, tenantId, key, anchor);
    if (trust === "retired") {
      report.retiredKey++;
      continue;
    }
    if (trust === "forged" || anchor === null) {
      problem = { seq, reason: "ANCHOR_UNAUTHENTIC" };
      break;
    }
    const held = checkpoint && seq === checkpoint.seq ? checkpoint.hash : hashes.get(seq);
    if (held !== anchor.hash) {
      problem = { seq, reason: "ANCHOR_MISMATCH" };
      break;
    }
    report.checked++;
    report.matchedThroughSeq = seq;
  }
  const missing = anchoredSeq > 0 && anchoredSeq >= fromSeq && !listed.some((l) => l.seq === anchoredSeq);
  if (missing && (problem === null || anchoredSeq < problem.seq)) problem = { seq: anchoredSeq, reason: "ANCHOR_MISSING" };
  return { report, problem };
}

/**
 * The chain's verification (`chain`, from ./verify.ts) with the anchors compared:
 * `anchors.configured` false when no anchor bucket is bound (nothing was compared, and
 * the result says so). `anchoredSeq` is the newest seq this object anchored itself.
 */
export async function compareWithAnchors(chain: VerifyResult, db: AuditDb, tenantId: string, keys: CheckpointKeys, anchors: AnchorListing, anchoredSeq: number): Promise<VerifiedChain> {
  if (!anchors.configured) return { ...chain, anchors: { configured: false } };
  const { report, problem } = await checkAnchors(db, tenantId, keys, anchors, anchoredSeq);
  if (problem && (chain.ok || chain.firstBrokenSeq === null || problem.seq < chain.firstBrokenSeq)) {
    return { ...chain, ok: false, firstBrokenSeq: problem.seq, reason: problem.reason, anchors: report };
  }
  return { ...chain, anchors: report };
}
