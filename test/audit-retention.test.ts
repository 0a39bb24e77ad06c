import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { runRetention } from "../src/audit/retention";
import { Harness, START_MS, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

const DAY = 86_400_000;

describe("retention", () => {
  it("prunes rows older than the retention, keeps the chain verifiable from a checkpoint", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email); // seq 1-2, at START_MS
    h.clock.advanceSeconds(3 * 86_400);
    await h.login(t.member.email); // seq 3-4, three days later

    const result = await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "2" }), START_MS + 3 * DAY);
    expect(result.pruned[t.id]).toBe(2);
    const left = await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all<{ seq: number }>();
    expect(left.results.map((r) => r.seq)).toEqual([3, 4]);
    const checkpoint = await auditStore.prepare("SELECT seq, hash FROM audit_checkpoints WHERE tenant_id = ?").bind(t.id).first<{ seq: number; hash: string }>();
    expect(checkpoint?.seq).toBe(2);

    const owner = await h.signIn(t.owner);
    const verify = await h.call<{ ok: boolean; checked: number }>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, checked: 4 });
  });

  it("keeps a chain verifiable when every row was pruned and new ones follow", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "1" }), START_MS + 2 * DAY);
    h.clock.advanceSeconds(2 * 86_400);
    const owner = await h.signIn(t.owner);
    const seqs = await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all<{ seq: number }>();
    expect(seqs.results.map((r) => r.seq)).toEqual([3, 4]);
    expect((await h.call<{ ok: boolean }>("/api/audit-logs/verify", { cookie: owner.cookie })).body.ok).toBe(true);
  });

  it("a tampered row in the retained part is still found after pruning", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    h.clock.advanceSeconds(3 * 86_400);
    await h.login(t.member.email);
    await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "2" }), START_MS + 3 * DAY);
    await auditStore.prepare("UPDATE audit_logs SET ip = '10.0.0.1' WHERE tenant_id = ? AND seq = 3").bind(t.id).run();
    const owner = await h.signIn(t.owner);
    expect((await h.call<{ firstBrokenSeq: number }>("/api/audit-logs/verify", { cookie: owner.cookie })).body.firstBrokenSeq).toBe(3);
  });

  it("the scheduled handler runs retention (Cron Trigger)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const controller = createScheduledController({ scheduledTime: START_MS + 500 * DAY, cron: "17 * * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    const n = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(n?.n).toBe(0); // default retention is 400 days
  });

  it("rows backdated to fall out of the retention window are not pruned: the broken chain stays for verify", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email); // seq 1-2, at START_MS
    h.clock.advanceSeconds(3 * 86_400);
    await h.login(t.member.email); // seq 3-4, three days later
    await auditStore.prepare("UPDATE audit_logs SET created_at = ? WHERE tenant_id = ? AND seq >= 3").bind(START_MS - 10 * DAY, t.id).run();
    const result = await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "2" }), START_MS + 3 * DAY);
    expect(result.pruned[t.id]).toBeUndefined();
    const left = await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all<{ seq: number }>();
    expect(left.results.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const owner = await h.signIn(t.owner);
    expect((await h.call<{ ok: boolean; firstBrokenSeq: number }>("/api/audit-logs/verify", { cookie: owner.cookie })).body).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });

  it("one tenant whose log cannot be read does not stop another tenant's pruning", async () => {
    const h = new Harness();
    const broken = await seedTenant("broken");
    const fine = await seedTenant("fine");
    await h.login(broken.member.email);
    await h.login(fine.member.email);
    await auditStore.prepare("UPDATE audit_logs SET metadata = '{not json', prev_hash = NULL, hash = NULL WHERE tenant_id = ? AND seq = 2").bind(broken.id).run();
    const result = await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "1" }), START_MS + 2 * DAY);
    expect(result.pruned[fine.id]).toBe(2);
    expect(result.pruned[broken.id]).toBeUndefined();
  });
});


describe("housekeeping", () => {
  it("expired housekeeping rows are deleted a bounded number per run, the rest by the next runs, and live ones never", async () => {
    const now = START_MS + 10 * DAY;
    const key = (i: number) => `housekeeping-test:${i}`;
    await env.DB.batch([
      ...Array.from({ length: 5 }, (_, i) => env.DB.prepare("INSERT INTO attempt_counters (key, failures, window_started_at) VALUES (?, 1, ?)").bind(key(i), now - 3 * DAY)),
      env.DB.prepare("INSERT INTO attempt_counters (key, failures, window_started_at) VALUES (?, 1, ?)").bind(key(99), now - 60_000),
    ]);
    const expired = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM attempt_counters WHERE window_started_at < ?").bind(now - DAY).first<number>("n")) ?? 0;
    const left = async () =>
      (await env.DB.prepare("SELECT key FROM attempt_counters WHERE key LIKE 'housekeeping-test:%' ORDER BY key").all<{ key: string }>()).results.map((r) => r.key);
    const before = await expired();
    expect(before).toBeGreaterThanOrEqual(5);
    await runRetention(withEnv({}), now, { housekeepingRows: 2 });
    expect(await expired()).toBe(before - 2);
    for (let run = 0; run < before && (await expired()) > 0; run++) await runRetention(withEnv({}), now, { housekeepingRows: 2 });
    expect(await expired()).toBe(0);
    expect(await left()).toEqual([key(99)]);
  });
});
