import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ArchiveChunk, archiveBody, archiveKey } from "../src/audit/archive";
import { rowHash } from "../src/audit/chain";
import { runRetention } from "../src/audit/retention";
import type { AuditLog } from "../src/db/schema";
import { randomId } from "../src/lib/crypto";
import { checkArchives } from "../scripts/audit-archive-check.mjs";
import { DAY, NOW, archiveKeyOfChecks, archivesOf, pruneDyingAfterArchive, range, retentionEnv, seedChain, seqsOf } from "./audit-archive-fixtures";
import { auditRowsOf, verifyChainOf } from "./audit-store";

/**
 * Each test runs at its own time, a thousand days before the previous one, so that the
 * retention runs of a test find only its own tenant due.
 */
const epoch = (n: number) => NOW - n * 1000 * DAY;
/** Rows due at `at` (40 days old under a 30-day retention). */
const dueAt = (at: number, n: number) => range(1, n).map((i) => at - 40 * DAY + i);

const bucket = () => env.AUDIT_ARCHIVE as R2Bucket;
const rangeOf = (key: string) => /\/(\d+)-(\d+)-[0-9a-f]+\.ndjson$/.exec(key)!.slice(1, 3).map(Number);

/** A retention run that writes the tenant's archive, then fails to checkpoint and delete: answers the object it left. */
async function failedPrune(tenantId: string, at: number, options: { chunkRows?: number } = {}) {
  await pruneDyingAfterArchive(tenantId, at, options.chunkRows);
  const objects = await archivesOf(tenantId);
  expect(objects).toHaveLength(1);
  return objects[0]!;
}

/**
 * A tenant whose rows 1-4 are due at `at` and rows 5-6 one day later, after a run at `at`
 * that archived rows 1-4 and failed to checkpoint and delete them: answers the tenant and
 * the object that run left.
 */
async function leftoverOfFailedPrune(label: string, at: number) {
  const tenantId = `${label}-${randomId()}`;
  await seedChain(tenantId, [...dueAt(at, 4), at - 29.5 * DAY, at - 29.5 * DAY + 1]);
  const leftover = await failedPrune(tenantId, at);
  expect(rangeOf(leftover.key)).toEqual([1, 4]);
  return { tenantId, leftover };
}

describe("archive objects left by a prune whose delete failed", () => {
  it("a failed prune's archive object is removed once a later run has archived and pruned a longer chunk from the same seq, and the archive verifies without an overlap", async () => {
    const at = epoch(1);
    const { tenantId } = await leftoverOfFailedPrune("longer", at);
    const later = at + DAY;
    expect((await runRetention(retentionEnv(), later)).pruned[tenantId]).toBe(6);
    const objects = await archivesOf(tenantId);
    expect(objects.map((o) => rangeOf(o.key))).toEqual([[1, 6]]);
    expect(await checkArchives(objects.map((o) => o.text), await archiveKeyOfChecks())).toMatchObject({ ok: true, fromSeq: 1, toSeq: 6, rows: 6, overlapping: [] });
    expect(await verifyChainOf(tenantId, later)).toMatchObject({ ok: true, fromSeq: 6 });
  });

  it("a failed prune's archive object is removed once a later run has pruned a shorter chunk from the same seq, while the rows it holds past that chunk are still in D1", async () => {
    const at = epoch(2);
    const tenantId = `shorter-${randomId()}`;
    await seedChain(tenantId, dueAt(at, 6));
    expect(rangeOf((await failedPrune(tenantId, at)).key)).toEqual([1, 6]);

    expect((await runRetention(retentionEnv(), at, { chunkRows: 4 })).pruned[tenantId]).toBe(6);
    const objects = await archivesOf(tenantId);
    expect(objects.map((o) => rangeOf(o.key))).toEqual([
      [1, 4],
      [5, 6],
    ]);
    expect(await checkArchives(objects.map((o) => o.text), await archiveKeyOfChecks())).toMatchObject({ ok: true, toSeq: 6, overlapping: [] });
  });

  it("an archive object from a pruned chunk's first seq whose rows are not the chain's is never removed, as an archive of rows a D1 restore undid", async () => {
    const at = epoch(3);
    const tenantId = `foreign-${randomId()}`;
    await seedChain(tenantId, dueAt(at, 6));
    // Objects from seq 1 whose last hash is not the chain's: one ending inside the chunk
    // about to be pruned, one ending past the rows D1 holds.
    const foreign = [archiveKey(tenantId, 1, 3, "c".repeat(64)), archiveKey(tenantId, 1, 8, "a".repeat(64))];
    for (const key of foreign) await bucket().put(key, `an archive of other rows: ${key}\n`);

    expect((await runRetention(retentionEnv(), at)).pruned[tenantId]).toBe(6);
    expect(await seqsOf(tenantId)).toEqual([]);
    for (const key of foreign) expect(await (await bucket().get(key))?.text()).toBe(`an archive of other rows: ${key}\n`);
  });
});

describe("the offline archive verifier, on overlapping objects", () => {
  it("the offline verifier accepts an intact archive that still holds a failed prune's overlapping object, and names that object instead of reporting a gap", async () => {
    const at = epoch(4);
    // The object of the failed run, as a bucket that still holds it (one written before
    // retention removed such objects, or one whose removal failed) lists it.
    const { tenantId, leftover } = await leftoverOfFailedPrune("overlap", at);
    await runRetention(retentionEnv(), at + DAY);
    const pruned = (await archivesOf(tenantId)).find((o) => o.key !== leftover.key);
    const listing = [leftover, pruned!].sort((a, b) => (a.key < b.key ? -1 : 1)).map((o) => o.text);
    expect(await checkArchives(listing, await archiveKeyOfChecks())).toMatchObject({ ok: true, fromSeq: 1, toSeq: 6, rows: 6, objects: 2, overlapping: [0] });
  });

  it("the offline verifier reports two objects that hold different rows at one seq as a fork, not as a gap", async () => {
    const tenantId = `fork-${randomId()}`;
    await seedChain(tenantId, dueAt(epoch(5), 4));
    const rows = (await auditRowsOf(tenantId)) as (AuditLog & { hash: string })[];
    const chunk = (chunkRows: AuditLog[]): ArchiveChunk => {
      const last = chunkRows.at(-1)!;
      return { prev: { seq: 0, hash: "0".repeat(64) }, rows: chunkRows, checkpoint: { tenantId, seq: last.seq, hash: last.hash!, prunedAt: NOW, lastCreatedAt: last.createdAt, retentionDays: 30, mac: "x" } };
    };
    // Another row 2, sealed as the worker seals: an object that verifies on its own.
    const other = { ...rows[1]!, ip: "198.51.100.1" };
    other.hash = await rowHash(rows[0]!.hash, other);
    const texts = [archiveBody(chunk(rows)), archiveBody(chunk([rows[0]!, other]))];
    expect(await checkArchives([texts[1]!])).toMatchObject({ ok: true });
    expect(await checkArchives(texts)).toMatchObject({ ok: false, reason: "FORK", seq: 2, index: 1 });
  });
});
