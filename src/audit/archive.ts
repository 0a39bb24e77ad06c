/**
 * The audit archive. When the optional AUDIT_ARCHIVE R2 bucket is bound, retention
 * (./retention.ts) writes every prefix it is about to prune to it, and deletes the rows
 * only once the write has succeeded. One object per pruned chunk, NDJSON:
 *
 *   line 1   {"format":"gatehouse-audit-archive","version":1,"tenantId","fromSeq","toSeq",
 *             "prevHash","rows","checkpoint":{tenantId,seq,hash,prunedAt,lastCreatedAt,
 *             retentionDays,mac}}
 *   line 2…  the rows, oldest first, exactly as their hashes cover them (epoch-ms
 *            `createdAt`, JSON columns decoded) with `seq`, `prevHash` and `hash`.
 *
 * `prevHash` is the hash the first row links to (the previous archive's checkpoint, or
 * 64 zeros for seq 1); `checkpoint` is the authenticated checkpoint retention stores in
 * D1 for the last row (HMAC under AUDIT_CHECKPOINT_KEY, ./checkpoint.ts). So each object
 * verifies on its own (links, hashes, the MAC given the key) and consecutive objects
 * chain. scripts/verify-archive.mjs does exactly that, offline.
 *
 * Keys: `audit/<tenant id, URI-encoded>/<fromSeq>-<toSeq>-<16 hex of the last hash>.ndjson`,
 * seqs zero-padded to 12 digits so a listing sorts in chain order. Objects are written
 * only if absent (`onlyIf: { etagDoesNotMatch: "*" }`): an earlier archive is never
 * replaced. If the key exists, it is an earlier run's archive of the same rows (same
 * range and end hash) whose delete did not happen; its checkpoint is reused when it is
 * authentic and describes exactly this chunk, otherwise nothing is pruned.
 *
 * A run whose write succeeded but whose checkpoint-and-delete did not (D1 failed, the
 * Worker died) leaves its object; a later run may archive a chunk of other length from
 * the same seq, which would overlap it. Once that later chunk's batch has committed,
 * supersedeLeftovers deletes such objects, and only those that back no deleted row and
 * whose rows are the chain's own (see there): an archive of rows that were deleted is
 * never deleted or replaced. What is left over anyway (the removal failed, or a D1
 * restore) the offline verifier tells apart from a gap.
 */
import type { AuditLog } from "../db/schema";
import { literal, number, object, type output, string } from "zod";
import { type CheckpointFields, type CheckpointKeys, checkpointProblem } from "./checkpoint";

export const ARCHIVE_FORMAT = "gatehouse-audit-archive";
const SEQ_DIGITS = 12;
/** The header line is well under 1 KiB; a ranged read of this much always holds it. */
const HEADER_READ_BYTES = 8192;

export type ArchiveCheckpoint = CheckpointFields & { mac: string };

export type ArchiveChunk = {
  /** Where the chunk's first row links to: the current checkpoint, or the genesis. */
  prev: { seq: number; hash: string };
  /** Sealed rows prev.seq + 1 … checkpoint.seq, in order. */
  rows: AuditLog[];
  checkpoint: ArchiveCheckpoint;
};

export class ArchiveRefused extends Error {
  override readonly name = "ArchiveRefused";
}

const pad = (seq: number) => String(seq).padStart(SEQ_DIGITS, "0");

/** Where the keys of the objects whose rows start at `fromSeq` begin. */
const keysFrom = (tenantId: string, fromSeq: number) => `audit/${encodeURIComponent(tenantId)}/${pad(fromSeq)}-`;

export function archiveKey(tenantId: string, fromSeq: number, toSeq: number, lastHash: string): string {
  return `${keysFrom(tenantId, fromSeq)}${pad(toSeq)}-${lastHash.slice(0, 16)}.ndjson`;
}

export function archiveHeader(chunk: ArchiveChunk) {
  const first = chunk.rows[0];
  return {
    format: ARCHIVE_FORMAT,
    version: 1,
    tenantId: chunk.checkpoint.tenantId,
    fromSeq: first ? first.seq : chunk.prev.seq + 1,
    toSeq: chunk.checkpoint.seq,
    prevHash: chunk.prev.hash,
    rows: chunk.rows.length,
    checkpoint: chunk.checkpoint,
  };
}

export function archiveBody(chunk: ArchiveChunk): string {
  return [archiveHeader(chunk), ...chunk.rows].map((line) => JSON.stringify(line)).join("\n") + "\n";
}

const headerSchema = object({
  format: literal(ARCHIVE_FORMAT),
  version: literal(1),
  tenantId: string(),
  fromSeq: number().int(),
  toSeq: number().int(),
  prevHash: string(),
  rows: number().int(),
  checkpoint: object({
    tenantId: string(),
    seq: number().int(),
    hash: string(),
    prunedAt: number().int(),
    lastCreatedAt: number().int(),
    retentionDays: number().int(),
    mac: string(),
  }),
});

/**
 * Writes the chunk to the bucket before anything is deleted. Answers the checkpoint
 * that now covers the archived rows (the chunk's own, or the one of an earlier archive
 * of exactly these rows); throws when the archive could not be written or an object
 * that is not that archive holds its key, and then nothing may be pruned.
 */
export async function archiveChunk(bucket: R2Bucket, key: CheckpointKeys, chunk: ArchiveChunk, nowMs: number): Promise<ArchiveCheckpoint> {
  const header = archiveHeader(chunk);
  const objectKey = archiveKey(header.tenantId, header.fromSeq, header.toSeq, chunk.checkpoint.hash);
  const written = await bucket.put(objectKey, archiveBody(chunk), {
    onlyIf: { etagDoesNotMatch: "*" },
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { tenantId: header.tenantId, fromSeq: String(header.fromSeq), toSeq: String(header.toSeq) },
  });
  if (written) return chunk.checkpoint;
  const existing = await bucket.get(objectKey, { range: { offset: 0, length: HEADER_READ_BYTES } });
  const text = existing ? await existing.text() : "";
  let parsed: output<typeof headerSchema> | null = null;
  try {
    parsed = headerSchema.parse(JSON.parse(text.split("\n", 1)[0] ?? ""));
  } catch {
    parsed = null;
  }
  const same =
    parsed !== null &&
    parsed.tenantId === header.tenantId &&
    parsed.fromSeq === header.fromSeq &&
    parsed.toSeq === header.toSeq &&
    parsed.prevHash === header.prevHash &&
    parsed.rows === header.rows &&
    parsed.checkpoint.tenantId === header.tenantId &&
    parsed.checkpoint.seq === chunk.checkpoint.seq &&
    parsed.checkpoint.hash === chunk.checkpoint.hash;
  if (!parsed || !same || (await checkpointProblem(key, parsed.checkpoint, nowMs)) !== null) {
    throw new ArchiveRefused(`an object that is not this chunk's archive holds ${objectKey}`);
  }
  return parsed.checkpoint;
}

/** Objects considered per chunk: a failed run leaves one, so this is far more than occurs. */
const LEFTOVERS_PER_CHUNK = 50;

/** Hashes of the rows still in D1 at these seqs (past the chunk just pruned). */
export type StoredHashes = (seqs: number[]) => Promise<Map<number, string>>;

/**
 * Called once the batch that checkpointed `chunk` and deleted its rows has committed.
 * Deletes the other objects whose rows start where the chunk's do, objects of runs whose
 * own batch never committed: the batch moves the checkpoint only from the chunk's start
 * (its guard), so no other run pruned from that seq and none of them backs a deleted row.
 * Each is deleted only when the rows it holds are the chain's: its key is the one the
 * chain's rows up to its last seq would have (the chunk's rows, and past the chunk the
 * rows still in D1). Anything else there (an archive of rows a D1 restore undid, an
 * unknown object) is kept. Answers the keys deleted.
 */
export async function supersedeLeftovers(bucket: R2Bucket, chunk: ArchiveChunk, storedHashes: StoredHashes): Promise<string[]> {
  const { tenantId, fromSeq, toSeq } = archiveHeader(chunk);
  const kept = archiveKey(tenantId, fromSeq, toSeq, chunk.checkpoint.hash);
  const prefix = keysFrom(tenantId, fromSeq);
  const listed = await bucket.list({ prefix, limit: LEFTOVERS_PER_CHUNK });
  const others = listed.objects.flatMap(({ key }) => {
    const lastSeq = Number(key.slice(prefix.length, prefix.length + SEQ_DIGITS));
    return key !== kept && Number.isSafeInteger(lastSeq) && lastSeq >= fromSeq ? [{ key, lastSeq }] : [];
  });
  const hashes = new Map(chunk.rows.map((row) => [row.seq, row.hash]));
  const pastChunk = others.map((o) => o.lastSeq).filter((seq) => seq > toSeq);
  if (pastChunk.length > 0) for (const [seq, hash] of await storedHashes(pastChunk)) hashes.set(seq, hash);
  const superseded = others.filter(({ key, lastSeq }) => {
    const hash = hashes.get(lastSeq);
    return typeof hash === "string" && key === archiveKey(tenantId, fromSeq, lastSeq, hash);
  });
  if (superseded.length > 0) await bucket.delete(superseded.map((o) => o.key));
  return superseded.map((o) => o.key);
}
