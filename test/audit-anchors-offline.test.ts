import { describe, expect, it } from "vitest";
import { signAnchor } from "../src/audit/anchors";
import { importCheckpointKeys } from "../src/audit/checkpoint";
import { runRetention } from "../src/audit/retention";
import { parseKeySet } from "../src/lib/key-set";
import { checkArchives } from "../scripts/audit-archive-check.mjs";
import { DAY, archiveKeyOfChecks, archivesOf, retentionEnv, seqsOf } from "./audit-archive-fixtures";
import { anchorsOf, rewriteAndReseal, tenantAnchoredTwice } from "./audit-anchor-fixtures";
import { verifyChainOf } from "./audit-store";

/** A tenant anchored twice, its rows then past retention (40 days on) and archived and pruned: the archives' texts and the anchors as an operator downloads them. */
async function archivedAfter(tamper: (tenantId: string, anchored: { first: number; second: number }) => Promise<void>) {
  const { h, t, first, second } = await tenantAnchoredTwice();
  await tamper(t.id, { first, second });
  const at = h.clock.ms + 40 * DAY;
  const before = await verifyChainOf(t.id, at);
  await runRetention(retentionEnv(), at);
  expect(await seqsOf(t.id)).toEqual([]);
  return { tenantId: t.id, first, second, before, texts: (await archivesOf(t.id)).map((o) => o.text), anchors: await anchorsOf(t.id) };
}

describe("the offline verifier compares the archived chain with the anchors (scripts/verify-archive.mjs --anchors)", () => {
  it("the archives of an untouched chain match every anchor, each authentic", async () => {
    const { texts, anchors, second } = await archivedAfter(async () => {});
    const result = await checkArchives(texts, await archiveKeyOfChecks(), { anchors });
    expect(result).toMatchObject({ ok: true, anchors: { checked: anchors.length, pastArchives: 0, macChecked: true } });
    expect(anchors.length).toBe(3); // the cron's two and retention's checkpoint
    expect(result.ok && result.anchors?.matchedThroughSeq).toBeGreaterThan(second);
  });

  it("a chain rewritten and re-sealed in the tenant's storage, then archived, is reported offline at the same first anchored seq as verify reports", async () => {
    const { texts, anchors, first, second, before } = await archivedAfter((tenantId, anchored) => rewriteAndReseal(tenantId, anchored.first + 1));
    expect(before).toMatchObject({ ok: false, firstBrokenSeq: second, reason: "ANCHOR_MISMATCH" });
    // The archives verify by themselves (links, hashes, checkpoint MACs): the rewrite was re-sealed.
    expect(await checkArchives(texts, await archiveKeyOfChecks())).toMatchObject({ ok: true });
    expect(await checkArchives(texts, await archiveKeyOfChecks(), { anchors })).toMatchObject({ ok: false, reason: "ANCHOR_MISMATCH", seq: second });
    expect(second).toBeGreaterThan(first);
  });

  it("a forged anchor (a MAC not of the checkpoint key) is reported offline, and trusted for nothing", async () => {
    const { tenantId, texts, anchors } = await archivedAfter(async () => {});
    const parsed = parseKeySet("C".repeat(43), { minBytes: 32 });
    if (!parsed.ok) throw new Error("bad test key");
    const [archived] = anchors;
    const forged = await signAnchor(await importCheckpointKeys(parsed.set), { ...archived!, tenantId });
    const withForged = [forged, ...anchors.slice(1)];
    expect(await checkArchives(texts, await archiveKeyOfChecks(), { anchors: withForged })).toMatchObject({ ok: false, reason: "ANCHOR_UNAUTHENTIC", seq: archived!.seq });
    // Without the key no MAC can be checked, and the result says so.
    expect(await checkArchives(texts, null, { anchors: withForged })).toMatchObject({ ok: true, anchors: { macChecked: false } });
  });
});
