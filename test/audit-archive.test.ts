import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ArchiveChunk, archiveBody, archiveKey } from "../src/audit/archive";
import { rowHash } from "../src/audit/chain";
import { runRetention } from "../src/audit/retention";
import type { AuditLog } from "../src/db/schema";
import { randomId } from "../src/lib/crypto";
import { checkArchives, importCheckpointKeys } from "../scripts/audit-archive-check.mjs";
import { DAY, NOW, OLD, RECENT, archiveKeyOfChecks, archivesOf, bucketWithPut, pruneDyingAfterArchive, range, retainIn, retainOn, retentionEnv, seedChain, seqsOf } from "./audit-archive-fixtures";
import { auditRowsOf, auditStore, inAuditStore, verifyChainOf } from "./audit-store";

describe("retention at scale, with the audit archive", () => {
  it("many tenants are archived and pruned over several bounded runs, each resuming after the last one's cursor, and every chain still verifies", async () => {
    const prefix = `scale-${randomId()}`;
    const ids = range(0, 11).map((i) => `${prefix}-${String(i).padStart(3, "0")}`);
    for (const id of ids) await seedChain(id, [...range(1, 20).map((i) => OLD + i * 1000), ...range(1, 10).map((i) => RECENT + i * 1000)]);
    const options = { budget: 60, chunkRows: 7 };

    const first = await runRetention(retentionEnv(), NOW, options);
    expect(first.resumeAfter).not.toBeNull();
    const cursor = await env.DB.prepare("SELECT tenant_id AS t FROM retention_cursors WHERE job = 'audit'").first<{ t: string }>();
    expect(cursor?.t).toBe(first.resumeAfter);
    // A tenant sorting before the cursor gets due rows after the first run: the second
    // run, resuming after the cursor, does not reach it.
    const early = `${prefix}-00-early`;
    expect(early < (first.resumeAfter as string)).toBe(true);
    await seedChain(early, range(1, 5).map((i) => OLD + i));
    const second = await runRetention(retentionEnv(), NOW, { budget: 20, chunkRows: 7 });
    expect(Object.keys(second.pruned).length).toBeGreaterThan(0);
    for (const id of Object.keys(second.pruned)) expect(id > (first.resumeAfter as string)).toBe(true);
    expect(await seqsOf(early)).toEqual(range(1, 5));

    let runs = 2;
    for (let last = second; last.resumeAfter !== null && runs < 40; runs++) last = await runRetention(retentionEnv(), NOW, options);
    expect(runs).toBeGreaterThan(3);
    // One more full pass reaches the early tenant too.
    await runRetention(retentionEnv(), NOW, { chunkRows: 7 });

    const offlineKey = await archiveKeyOfChecks();
    for (const id of ids) {
      expect(await seqsOf(id)).toEqual(range(21, 30));
      expect(await verifyChainOf(id, NOW)).toMatchObject({ ok: true, fromSeq: 20 });
      const objects = await archivesOf(id);
      expect(objects.length).toBe(3); // 7 + 7 + 6 rows
      expect(await checkArchives(objects.map((o) => o.text), offlineKey)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 20, rows: 20, macChecked: true });
    }
    expect(await seqsOf(early)).toEqual([]);
  }, 30_000);

  it("an audit row is never deleted before its archive is written: a failed archive write deletes nothing", async () => {
    const tenantId = `fail-${randomId()}`;
    await seedChain(tenantId, range(1, 6).map((i) => OLD + i));
    const failingBucket = new Proxy(env.AUDIT_ARCHIVE as R2Bucket, {
      get(target, prop) {
        if (prop === "put") return () => Promise.reject(new Error("R2 put failed: 503"));
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const result = await retainIn(tenantId, NOW, failingBucket);
    expect(result.pruned).toBe(0);
    expect(await seqsOf(tenantId)).toEqual(range(1, 6));
    expect(await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first("n")).toBe(0);
  });

  it("rows within the retention window are never archived or deleted, even when a later row carries an older time", async () => {
    const tenantId = `window-${randomId()}`;
    // seq 6 is recent; seq 7 is dated old (a skewed clock) but follows it in the chain.
    await seedChain(tenantId, [...range(1, 5).map((i) => OLD + i), RECENT, OLD + 10, RECENT + 1]);
    const result = await runRetention(retentionEnv(), NOW);
    expect(result.pruned[tenantId]).toBe(5);
    expect(await seqsOf(tenantId)).toEqual([6, 7, 8]);
    const objects = await archivesOf(tenantId);
    const archivedSeqs = objects.flatMap((o) => o.text.trim().split("\n").slice(1).map((line) => (JSON.parse(line) as { seq: number }).seq));
    expect(archivedSeqs).toEqual(range(1, 5));
  });

  it("an archive never replaces an earlier object: another object under the chunk's key stops its pruning", async () => {
    const tenantId = `keep-${randomId()}`;
    await seedChain(tenantId, range(1, 4).map((i) => OLD + i));
    const last = await auditStore.prepare("SELECT hash FROM audit_logs WHERE tenant_id = ? AND seq = 4").bind(tenantId).first<{ hash: string }>();
    const objectKey = archiveKey(tenantId, 1, 4, last!.hash);
    await (env.AUDIT_ARCHIVE as R2Bucket).put(objectKey, "an earlier archive\n");
    const result = await runRetention(retentionEnv(), NOW);
    expect(result.pruned[tenantId]).toBeUndefined();
    expect(await (await (env.AUDIT_ARCHIVE as R2Bucket).get(objectKey))!.text()).toBe("an earlier archive\n");
    expect(await seqsOf(tenantId)).toEqual(range(1, 4));
  });

  it("a run after an archive whose delete failed reuses that archive and its checkpoint, and writes no second one", async () => {
    const tenantId = `resume-${randomId()}`;
    await seedChain(tenantId, range(1, 4).map((i) => OLD + i));
    // The archive is written, then the run dies before it checkpoints and deletes.
    await pruneDyingAfterArchive(tenantId, NOW);
    expect(await seqsOf(tenantId)).toEqual(range(1, 4));
    const [archived] = await archivesOf(tenantId);
    expect(archived).toBeDefined();

    const later = NOW + 60_000;
    const result = await runRetention(retentionEnv(), later);
    expect(result.pruned[tenantId]).toBe(4);
    expect(await archivesOf(tenantId)).toHaveLength(1);
    const header = JSON.parse(archived!.text.split("\n")[0]!) as { checkpoint: { mac: string; prunedAt: number } };
    const stored = await auditStore.prepare("SELECT mac, pruned_at AS prunedAt FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first<{ mac: string; prunedAt: number }>();
    expect(stored).toEqual({ mac: header.checkpoint.mac, prunedAt: NOW });
    expect((await verifyChainOf(tenantId, later)).ok).toBe(true);
  });
});

describe("retention racing another run", () => {
  it("a run whose starting checkpoint another run moved meanwhile deletes nothing", async () => {
    // Long before the other tests' rows: this tenant is the only one due at this time.
    const now = NOW - 1000 * DAY;
    const tenantId = `race-${randomId()}`;
    await seedChain(tenantId, range(1, 6).map((i) => now - 40 * DAY + i));
    const third = await auditStore.prepare("SELECT hash FROM audit_logs WHERE tenant_id = ? AND seq = 3").bind(tenantId).first<{ hash: string }>();
    let raced = false;
    // While this run writes its archive, another run prunes rows 1-3 and checkpoints seq 3.
    const result = await inAuditStore(tenantId, (db, state) => {
      const racing = bucketWithPut(async () => {
        if (raced) return;
        raced = true;
        state.storage.sql.exec("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (?, 3, ?, ?)", tenantId, third!.hash, now);
        state.storage.sql.exec("DELETE FROM audit_logs WHERE seq <= 3");
      });
      return retainOn(db, tenantId, now, racing);
    });
    expect(raced).toBe(true);
    expect(result.pruned).toBe(0);
    expect(await seqsOf(tenantId)).toEqual([4, 5, 6]);
    expect(await auditStore.prepare("SELECT seq FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first("seq")).toBe(3);
  });

  it("a stale run whose chunk ends where other runs' checkpoint already is deletes nothing and removes none of their archives", async () => {
    // Long before the other tests' rows: this tenant is the only one due at these times.
    const base = NOW - 3000 * DAY;
    const tenantId = `stale-${randomId()}`;
    await seedChain(tenantId, range(1, 6).map((i) => base + i * DAY));
    const pruneUpTo = (seq: number) => base + (seq + 0.5) * DAY + 30 * DAY; // rows 1..seq are older than the window
    let raced = false;
    // While this run (its chunk: rows 1-3) writes its archive, two other runs prune rows 1-2, then row 3.
    const rangesArchived = async () => (await archivesOf(tenantId)).map((o) => o.key.split("/").at(-1)!.split("-").slice(0, 2).map(Number));
    const result = await inAuditStore(tenantId, (db) => {
      const run = (at: number, archive: R2Bucket) => retainOn(db, tenantId, at, archive);
      const racing = bucketWithPut(null, async () => {
        if (raced) return;
        raced = true;
        expect((await run(pruneUpTo(2), env.AUDIT_ARCHIVE as R2Bucket)).pruned).toBe(2);
        expect((await run(pruneUpTo(3), env.AUDIT_ARCHIVE as R2Bucket)).pruned).toBe(1);
      });
      return run(pruneUpTo(3), racing);
    });
    expect(raced).toBe(true);
    expect(result.pruned).toBe(0);
    expect(await seqsOf(tenantId)).toEqual([4, 5, 6]);
    expect(await auditStore.prepare("SELECT seq FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first("seq")).toBe(3);
    // The archives of the runs that committed (rows 1-2, then row 3) are still there; the first
    // of them removed this run's object, as a failed run's leftover.
    expect(await rangesArchived()).toEqual([
      [1, 2],
      [3, 3],
    ]);
  });
});

describe("the offline archive verifier (scripts/verify-archive.mjs)", () => {
  it("accepts the worker's archives, and reports an edited row, a missing object, a forged checkpoint and a wrong key", async () => {
    const tenantId = `offline-${randomId()}`;
    await seedChain(tenantId, range(1, 9).map((i) => OLD + i));
    await runRetention(retentionEnv(), NOW, { chunkRows: 3 });
    const texts = (await archivesOf(tenantId)).map((o) => o.text);
    expect(texts).toHaveLength(3);
    const key = await archiveKeyOfChecks();
    expect(await checkArchives(texts, key)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 9, objects: 3 });
    expect(await checkArchives(texts)).toMatchObject({ ok: true, macChecked: false });

    const edited = texts[1]!.replace('"ip":"203.0.113.7"', '"ip":"198.51.100.1"');
    expect(edited).not.toBe(texts[1]);
    expect(await checkArchives([texts[0]!, edited, texts[2]!], key)).toMatchObject({ ok: false, reason: "HASH", seq: 4 });
    expect(await checkArchives([texts[0]!, texts[2]!], key)).toMatchObject({ ok: false, reason: "GAP", seq: 4 });

    // A checkpoint moved to cover an extra row it was not signed for.
    const lines = texts[2]!.trim().split("\n");
    const header = JSON.parse(lines[0]!) as { checkpoint: { prunedAt: number } };
    header.checkpoint.prunedAt += 1;
    expect(await checkArchives([texts[0]!, texts[1]!, [JSON.stringify(header), ...lines.slice(1)].join("\n")], key)).toMatchObject({ ok: false, reason: "CHECKPOINT_UNAUTHENTIC", seq: 9 });

    const otherKey = await importCheckpointKeys("A".repeat(43));
    expect(await checkArchives(texts, otherKey)).toMatchObject({ ok: false, reason: "CHECKPOINT_UNAUTHENTIC" });
  });

  it("the offline verifier reports an archived row whose prevHash was edited, alone or re-sealed, as a broken link at that row", async () => {
    const tenantId = `offline-link-${randomId()}`;
    await seedChain(tenantId, range(1, 6).map((i) => OLD + i));
    await runRetention(retentionEnv(), NOW, { chunkRows: 3 });
    const texts = (await archivesOf(tenantId)).map((o) => o.text);
    const key = await archiveKeyOfChecks();
    expect(await checkArchives(texts, key)).toMatchObject({ ok: true, fromSeq: 1, toSeq: 6 });
    /** The second object (rows 4-6) with row 5 made to claim row 3 as its predecessor. */
    const forged = async (reseal: boolean) => {
      const [header, ...rows] = texts[1]!.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const fifth = rows[1]!;
      fifth.prevHash = JSON.parse(texts[0]!.trim().split("\n").at(-1)!).hash as string;
      if (reseal) fifth.hash = await rowHash(fifth.prevHash as string, fifth as unknown as AuditLog);
      return [header, ...rows].map((line) => JSON.stringify(line)).join("\n");
    };
    expect(await checkArchives([texts[0]!, await forged(false)], key)).toMatchObject({ ok: false, reason: "LINK", seq: 5 });
    expect(await checkArchives([texts[0]!, await forged(true)], key)).toMatchObject({ ok: false, reason: "LINK", seq: 5 });
  });

  it("the verifier's row hashes are the worker's, for every field the archive writes", async () => {
    // One chunk built by the worker's own archive writer, checked by the offline script.
    const tenantId = `format-${randomId()}`;
    await seedChain(tenantId, [OLD]);
    const [row] = await auditRowsOf(tenantId);
    const chunk: ArchiveChunk = {
      prev: { seq: 0, hash: "0".repeat(64) },
      rows: [row!],
      checkpoint: { tenantId, seq: 1, hash: row!.hash!, prunedAt: NOW, lastCreatedAt: OLD, retentionDays: 30, mac: "x" },
    };
    expect(await checkArchives([archiveBody(chunk)])).toMatchObject({ ok: true, rows: 1 });
  });
});
