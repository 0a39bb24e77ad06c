import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkpointKey, signCheckpoint } from "../src/audit/checkpoint";
import { runRetention } from "../src/audit/retention";
import { Harness, START_MS, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null; reason?: string | null };

const DAY = 86_400_000;

/** Six rows (three sign-ins of the member), then the recent rows 1-4 deleted as an attacker would. */
async function tenantWithRecentRowsDeleted() {
  const h = new Harness();
  const t = await seedTenant();
  for (let i = 0; i < 3; i++) await h.login(t.member.email);
  const owner = await h.session(t.owner);
  const row4 = await auditStore.prepare("SELECT hash, created_at FROM audit_logs WHERE tenant_id = ? AND seq = 4").bind(t.id).first<{ hash: string; created_at: number }>();
  if (!row4) throw new Error("no row 4");
  await auditStore.prepare("DELETE FROM audit_logs WHERE tenant_id = ? AND seq <= 4").bind(t.id).run();
  return { h, t, owner, row4 };
}

async function verify(h: Harness, cookie: string) {
  return h.call<Verify>("/api/audit-logs/verify", { cookie });
}

describe("retention checkpoints are authenticated", () => {
  it("a checkpoint inserted without the checkpoint key (hiding deleted recent rows) is reported as broken", async () => {
    const { h, t, owner, row4 } = await tenantWithRecentRowsDeleted();
    await auditStore.prepare("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (?, 4, ?, ?)").bind(t.id, row4.hash, START_MS).run();
    const res = await verify(h, owner.cookie);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: "CHECKPOINT_UNAUTHENTIC" });
  });

  it("a checkpoint signed with another key is reported as broken", async () => {
    const { h, t, owner, row4 } = await tenantWithRecentRowsDeleted();
    const otherKey = await checkpointKey(withEnv({ AUDIT_CHECKPOINT_KEY: "b3RoZXIta2V5LW9mLWF0LWxlYXN0LTMyLWJ5dGVzLWxvbmctLS0" }));
    if (!otherKey) throw new Error("test key rejected");
    const fields = { tenantId: t.id, seq: 4, hash: row4.hash, prunedAt: h.clock.ms, lastCreatedAt: row4.created_at - 401 * DAY, retentionDays: 400 };
    const mac = await signCheckpoint(otherKey, fields);
    await auditStore.prepare("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at, last_created_at, retention_days, mac) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(t.id, 4, row4.hash, fields.prunedAt, fields.lastCreatedAt, 400, mac)
      .run();
    const res = await verify(h, owner.cookie);
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: "CHECKPOINT_UNAUTHENTIC" });
  });

  it("a checkpoint covering rows younger than the retention window is reported as broken, even with a valid MAC", async () => {
    const { h, t, owner, row4 } = await tenantWithRecentRowsDeleted();
    const key = await checkpointKey(env);
    if (!key) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
    // Pruned "now", yet its last row is minutes old: no 400-day retention pruned that.
    const fields = { tenantId: t.id, seq: 4, hash: row4.hash, prunedAt: h.clock.ms, lastCreatedAt: row4.created_at, retentionDays: 400 };
    await auditStore.prepare("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at, last_created_at, retention_days, mac) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(t.id, 4, row4.hash, fields.prunedAt, fields.lastCreatedAt, 400, await signCheckpoint(key, fields))
      .run();
    const res = await verify(h, owner.cookie);
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: "CHECKPOINT_TOO_RECENT" });
  });

  it("without the checkpoint key, verification answers 503 (fail closed) and changes nothing", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const res = await h.call("/api/audit-logs/verify", { cookie: owner.cookie, env: withEnv({ AUDIT_CHECKPOINT_KEY: undefined }) });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: "AUDIT_KEY_UNAVAILABLE" });
    expect(typeof res.body.message).toBe("string");
  });

  it("without the checkpoint key, retention prunes no audit row and writes no checkpoint", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const result = await runRetention(withEnv({ AUDIT_CHECKPOINT_KEY: undefined, AUDIT_RETENTION_DAYS: "1" }), START_MS + 10 * DAY);
    expect(result.pruned[t.id]).toBeUndefined();
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(rows?.n).toBe(2);
    const checkpoint = await auditStore.prepare("SELECT seq FROM audit_checkpoints WHERE tenant_id = ?").bind(t.id).first();
    expect(checkpoint).toBeNull();
  });
});
