import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rowHash } from "../src/audit/chain";
import { Harness, PASSWORD, gatehouseUrl, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";
import { auditRowsOf, auditStore, outboxOf } from "./audit-store";

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null };

/** A stored row of the tenant, as the chain hashes it. */
async function storedRow(tenantId: string, seq: number) {
  const row = (await auditRowsOf(tenantId)).find((r) => r.seq === seq);
  if (!row?.hash) throw new Error(`no sealed row ${seq}`);
  return { ...row, hash: row.hash };
}

async function tenantWithHistory() {
  const h = new Harness();
  const t = await seedTenant();
  for (let i = 0; i < 3; i++) await h.login(t.member.email); // 2 rows each
  const owner = await h.session(t.owner);
  return { h, t, owner };
}

describe("tamper evidence: the per-tenant hash chain", () => {
  it("verify is ok over an untouched log and checks every row", async () => {
    const { h, t, owner } = await tenantWithHistory();
    const res = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.status).toBe(200);
    const count = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(res.body).toMatchObject({ ok: true, checked: count?.n, firstBrokenSeq: null });
  });

  it("detects and locates a row edited directly in the tenant's store", async () => {
    const { h, t, owner } = await tenantWithHistory();
    await auditStore.prepare("UPDATE audit_logs SET outcome = 'FAIL' WHERE tenant_id = ? AND seq = 3").bind(t.id).run();
    const res = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });

  it("detects and locates a row deleted directly in the tenant's store", async () => {
    const { h, t, owner } = await tenantWithHistory();
    await auditStore.prepare("DELETE FROM audit_logs WHERE tenant_id = ? AND seq = 2").bind(t.id).run();
    const res = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it("detects a row whose hash was recomputed but whose successor still links the old one", async () => {
    const { h, t, owner } = await tenantWithHistory();
    await auditStore.prepare("UPDATE audit_logs SET hash = ? WHERE tenant_id = ? AND seq = 4").bind("f".repeat(64), t.id).run();
    const res = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 4 });
  });

  it("detects and locates a row whose prev_hash alone was edited in the tenant's store, its own hash left as it was", async () => {
    const { h, t, owner } = await tenantWithHistory();
    // Row 3 is made to claim row 1 as its predecessor; its hash still covers row 2's.
    const first = await storedRow(t.id, 1);
    await auditStore.prepare("UPDATE audit_logs SET prev_hash = ? WHERE tenant_id = ? AND seq = 3").bind(first.hash, t.id).run();
    const res = await h.call<Verify & { reason: string }>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: "LINK" });
  });

  it("reports a row whose prev_hash was edited and whose hash was re-sealed over the edit as a broken link at that row", async () => {
    const { h, t, owner } = await tenantWithHistory();
    // What an attacker with write access to the store does to keep the row self-consistent: hash it again over the forged link.
    const [first, third] = [await storedRow(t.id, 1), await storedRow(t.id, 3)];
    const resealed = await rowHash(first.hash, third);
    await auditStore.prepare("UPDATE audit_logs SET prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = 3").bind(first.hash, resealed, t.id).run();
    const res = await h.call<Verify & { reason: string }>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: "LINK" });
  });

  it("race: concurrent writers in one tenant never fork the chain (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await Promise.all(Array.from({ length: 8 }, () => h.login(t.member.email)));
    const seqs = await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all<{ seq: number }>();
    expect(seqs.results.map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const owner = await h.session(t.owner);
    expect((await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie })).body.ok).toBe(true);
  });

  it("isolation: each tenant has its own sequence starting at 1", async () => {
    const h = new Harness();
    const a = await seedTenant("a");
    const b = await seedTenant("b");
    await h.login(a.member.email);
    await h.login(b.member.email);
    const first = (tenantId: string) => auditStore.prepare("SELECT MIN(seq) AS first FROM audit_logs WHERE tenant_id = ?").bind(tenantId).first<number>("first");
    expect([await first(a.id), await first(b.id)]).toEqual([1, 1]);
  });

  it("a row whose tenant's object was not told after its write waits in the outbox and is linked by the next verification", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ TENANT: tenantObjectsUnreachable() }) });
    expect((await outboxOf(t.id)).length).toBeGreaterThan(0);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
    const row = await auditStore.prepare("SELECT hash FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_SUCCEEDED' AND actor_user_id = ?").bind(t.id, t.member.id).first<{ hash: string | null }>();
    expect(row?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("an export carries the hash of every row, even of one whose tenant's object was not told after its write", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ TENANT: tenantObjectsUnreachable() }) });
    const res = await h.app.fetch(new Request(gatehouseUrl("/api/audit-logs/export?format=ndjson"), { headers: { cookie: owner.cookie, "cf-connecting-ip": "203.0.113.10" } }), env);
    expect(res.status).toBe(200);
    const rows = (await res.text()).trim().split("\n").map((line) => JSON.parse(line) as { action: string; actorUserId: string | null; hash: string | null });
    expect(rows.filter((r) => r.actorUserId === t.member.id).map((r) => r.action)).toContain("LOGIN_SUCCEEDED");
    expect(rows.every((r) => typeof r.hash === "string" && r.hash.length === 64)).toBe(true);
  });

  it("a row is linked by the tenant's object as it is stored, the first to the genesis", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const row = await auditStore.prepare("SELECT prev_hash, hash FROM audit_logs WHERE tenant_id = ? AND seq = 1").bind(t.id).first<{ prev_hash: string; hash: string | null }>();
    expect(row?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.prev_hash).toBe("0".repeat(64));
  });

  it("a row whose JSON was made unreadable in the tenant's store is reported as broken there, not answered with a server error", async () => {
    const { h, t, owner } = await tenantWithHistory();
    await auditStore.prepare("UPDATE audit_logs SET metadata = '{not json' WHERE tenant_id = ? AND seq = 3").bind(t.id).run();
    const res = await h.call<Verify & { reason: string }>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: "UNREADABLE" });
  });
});

