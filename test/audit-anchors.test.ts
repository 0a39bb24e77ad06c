import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { anchorTenants } from "../src/audit/anchor-sweep";
import { anchorAuthentic, anchorKey, anchorKeyId, listAnchors, signAnchor, writeAnchor } from "../src/audit/anchors";
import { checkpointKey, checkpointKeySet, importCheckpointKeys } from "../src/audit/checkpoint";
import { retainTenant, runRetention } from "../src/audit/retention";
import type { Bindings } from "../src/env";
import { type KeySet, parseKeySet } from "../src/lib/key-set";
import { randomId, toBase64Url } from "../src/lib/crypto";
import { OLD, NOW, range, retentionEnv, seedChain, seqsOf } from "./audit-archive-fixtures";
import { anchorBucket, anchorHeadOf, anchorsOf, headSeqOf, rewriteAndReseal, tenantAnchoredTwice } from "./audit-anchor-fixtures";
import { auditStore, inAuditStore, verifyChainOf } from "./audit-store";
import { Harness, brokenBinding, seedTenant, withEnv } from "./helpers";

type Verified = { ok: boolean; firstBrokenSeq: number | null; reason: string | null; anchors: { configured: boolean; checked?: number; matchedThroughSeq?: number | null; latestSeq?: number | null } };

const keys = async () => {
  const k = await checkpointKey(env as Bindings);
  if (!k) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
  return k;
};

/** A key set of keys with these ids and bytes (each 32 bytes of `fill`). */
const keySetOf = (...entries: [id: string, fill: number][]) => {
  const parsed = parseKeySet(JSON.stringify(entries.map(([id, fill]) => ({ id, key: toBase64Url(new Uint8Array(32).fill(fill)) }))), { minBytes: 32 });
  if (!parsed.ok) throw new Error("bad test key");
  return parsed.set;
};

/** The deployment's key set with `set`'s key in front (a rotation's overlap). */
const withPrevious = (set: KeySet): KeySet => ({ current: set.current, keys: [set.current, ...(checkpointKeySet(env as Bindings)?.keys ?? [])] });

/** A forger's key, under the id of the deployment's current key. */
const forgerKeys = async () => importCheckpointKeys(keySetOf([(await keys()).current.id, 11]));

describe("anchors: the chain's head kept outside the tenant's store", () => {
  it("every retention checkpoint is anchored in R2, with a MAC of the checkpoint key, before its rows are pruned", async () => {
    const tenantId = `anchor-cp-${randomId()}`;
    await seedChain(tenantId, range(1, 6).map((i) => OLD + i));
    await runRetention(retentionEnv(), NOW, { chunkRows: 3 });
    expect(await seqsOf(tenantId)).toEqual([]);
    const anchors = await anchorsOf(tenantId);
    expect(anchors.map((a) => [a.seq, a.source])).toEqual([[3, "checkpoint"], [6, "checkpoint"]]);
    const checkpoint = await auditStore.prepare("SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first<{ seq: number; hash: string }>();
    expect(anchors.at(-1)).toMatchObject({ tenantId, seq: checkpoint?.seq, hash: checkpoint?.hash, anchoredAt: NOW });
    for (const anchor of anchors) expect(await anchorAuthentic(await keys(), anchor)).toBe(true);
    expect(await verifyChainOf(tenantId, NOW)).toMatchObject({ ok: true, anchors: { configured: true, checked: 1, behindCheckpoint: 1, matchedThroughSeq: 6 } });
  });

  it("a checkpoint whose anchor cannot be written prunes nothing", async () => {
    const tenantId = `anchor-cp-fail-${randomId()}`;
    await seedChain(tenantId, range(1, 4).map((i) => OLD + i));
    const failing = brokenBinding<R2Bucket>("R2");
    const outcome = await inAuditStore(tenantId, async (db) => retainTenant(db, { keys: await keys(), archive: undefined, anchors: failing }, tenantId, { nowMs: NOW, days: 30, chunkRows: 1000, maxChunks: 10 }));
    expect(outcome.pruned).toBe(0);
    expect(await seqsOf(tenantId)).toEqual(range(1, 4));
  });

  it("the hourly cron anchors the head of each tenant with rows added since its last anchor, and only then", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const result = await anchorTenants(env as Bindings, h.clock.ms);
    expect(result).toMatchObject({ anchors: "configured", failed: 0 });
    const head = await headSeqOf(t.id);
    expect((await anchorsOf(t.id)).map((a) => [a.seq, a.source, a.anchoredAt])).toEqual([[head, "head", h.clock.ms]]);
    expect(await anchorHeadOf(t.id, h.clock.ms + 3_600_000)).toBe("current");
    await h.login(t.member.email);
    await anchorTenants(env as Bindings, h.clock.ms + 3_600_000);
    expect((await anchorsOf(t.id)).map((a) => a.seq)).toEqual([head, await headSeqOf(t.id)]);
  });

  it("the scheduled handler (Cron Trigger) anchors the tenants' heads", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: h.clock.ms, cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await anchorsOf(t.id)).map((a) => a.seq)).toEqual([await headSeqOf(t.id)]);
  });

  it("an anchor is never overwritten: a second put of the same key leaves the first", async () => {
    const tenantId = `anchor-once-${randomId()}`;
    const first = await signAnchor(await keys(), { tenantId, seq: 7, hash: "a".repeat(64), anchoredAt: NOW, source: "head" });
    const other = await signAnchor(await keys(), { tenantId, seq: 7, hash: "b".repeat(64), anchoredAt: NOW + 1, source: "checkpoint" });
    expect(await writeAnchor(anchorBucket(), first)).toBe("written");
    expect(await writeAnchor(anchorBucket(), other)).toBe("conflict");
    expect(await writeAnchor(anchorBucket(), first)).toBe("present");
    expect(JSON.parse(await (await anchorBucket().get(anchorKey(tenantId, 7, anchorKeyId(first)!)))!.text())).toEqual(first);
  });

  it("a row rewritten in the tenant's storage, every later row re-sealed, is reported by verify at the first anchored seq that no longer matches", async () => {
    const { h, t, first, second } = await tenantAnchoredTwice();
    const owner = await h.session(t.owner);
    await rewriteAndReseal(t.id, first + 1);
    // The chain alone still verifies: only the anchors tell.
    const alone = await h.call<Verified>("/api/audit-logs/verify", { cookie: owner.cookie, env: withEnv({ AUDIT_ANCHORS: undefined }) });
    expect(alone.body).toMatchObject({ ok: true, anchors: { configured: false } });
    const res = await h.call<Verified>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: second, reason: "ANCHOR_MISMATCH", anchors: { configured: true, matchedThroughSeq: first } });
    // Rewritten from further back, the first anchor no longer matches either.
    await rewriteAndReseal(t.id, 2);
    expect((await h.call<Verified>("/api/audit-logs/verify", { cookie: owner.cookie })).body).toMatchObject({ ok: false, firstBrokenSeq: first, reason: "ANCHOR_MISMATCH" });
  });

  it("rows deleted from the chain's tail, past an anchored seq, are reported at that seq", async () => {
    const { h, t, second } = await tenantAnchoredTwice();
    await auditStore.prepare("DELETE FROM audit_logs WHERE tenant_id = ? AND seq >= ?").bind(t.id, second).run();
    expect(await verifyChainOf(t.id, h.clock.ms)).toMatchObject({ ok: false, firstBrokenSeq: second, reason: "ANCHOR_MISMATCH" });
  });

  it("a forged anchor (a MAC not of the checkpoint key) is reported, and trusted for nothing", async () => {
    const { h, t } = await tenantAnchoredTwice();
    const forged = await signAnchor(await forgerKeys(), { tenantId: t.id, seq: 1, hash: "c".repeat(64), anchoredAt: h.clock.ms, source: "head" });
    expect(await writeAnchor(anchorBucket(), forged)).toBe("written");
    expect(await verifyChainOf(t.id, h.clock.ms)).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: "ANCHOR_UNAUTHENTIC" });
  });

  it("after a rotation of the checkpoint key the cron anchors each head again under the new key, so the previous key can leave the set", async () => {
    const { h, t } = await tenantAnchoredTwice();
    expect(await anchorHeadOf(t.id, h.clock.ms)).toBe("anchored");
    const head = await headSeqOf(t.id);
    // No row since: the head is anchored again, at the same seq, under the new current key.
    const rotated = keySetOf(["r2", 2]);
    expect(await anchorHeadOf(t.id, h.clock.ms, withPrevious(rotated))).toBe("anchored");
    expect((await anchorsOf(t.id)).filter((a) => a.seq === head).map(anchorKeyId)).toEqual([(await keys()).current.id, "r2"]);
    // The previous key gone: its anchors are trusted for nothing, and the new one covers the chain.
    const verified = await env.TENANT.get(env.TENANT.idFromName(t.id)).auditVerify(t.id, h.clock.ms, rotated, await listAnchors(anchorBucket(), t.id));
    expect(verified).toMatchObject({ ok: true, anchors: { checked: 1, retiredKey: 3, matchedThroughSeq: head } });
  });

  it("a chain rewritten before its head is anchored under a new key is refused that anchor, never laundered under the new key", async () => {
    const { h, t, second } = await tenantAnchoredTwice();
    expect(await anchorHeadOf(t.id, h.clock.ms)).toBe("anchored");
    await rewriteAndReseal(t.id, second);
    expect(await anchorHeadOf(t.id, h.clock.ms, withPrevious(keySetOf(["r3", 3])))).toBe("conflict");
    expect((await anchorsOf(t.id)).filter((a) => anchorKeyId(a) === "r3")).toEqual([]);
  });

  it("the newest anchor the tenant's object wrote, deleted from R2, is reported missing", async () => {
    const { h, t, second } = await tenantAnchoredTwice();
    const newest = (await anchorsOf(t.id)).find((a) => a.seq === second);
    await anchorBucket().delete(anchorKey(t.id, second, anchorKeyId(newest!)!));
    expect(await verifyChainOf(t.id, h.clock.ms)).toMatchObject({ ok: false, firstBrokenSeq: second, reason: "ANCHOR_MISSING" });
  });

  it("without the AUDIT_ANCHORS binding, verify says anchors are not configured and the cron anchors nothing", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const unbound = withEnv({ AUDIT_ANCHORS: undefined });
    expect(await anchorTenants(unbound, h.clock.ms)).toEqual({ anchors: "not configured" });
    expect(await anchorsOf(t.id)).toEqual([]);
    const res = await h.call<Verified>("/api/audit-logs/verify", { cookie: owner.cookie, env: unbound });
    expect(res.status).toBe(200);
    expect(res.body.anchors).toEqual({ configured: false });
  });

  it("a tenant with no anchor yet is verified with none checked and none claimed", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const res = await h.call<Verified>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: true, anchors: { configured: true, checked: 0, matchedThroughSeq: null, latestSeq: null } });
  });

  it("verify fails closed when the anchors cannot be read: 503 AUDIT_ANCHORS_UNAVAILABLE, never a verification without them", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const res = await h.call("/api/audit-logs/verify", { cookie: owner.cookie, env: withEnv({ AUDIT_ANCHORS: brokenBinding<R2Bucket>("R2") }) });
    expect([res.status, res.body.error]).toEqual([503, "AUDIT_ANCHORS_UNAVAILABLE"]);
  });
});
