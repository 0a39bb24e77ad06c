import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuditEventInput } from "../src/rpc/types";
import { PASSWORD, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";
import { auditRows as rows, productEvent as event, realTimeHarness } from "./rpc-fixtures";
import { eventsEverCommitted, outboxOf } from "./audit-store";

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null };

describe("GatehouseService.recordAuditEvent through a service binding", () => {
  it("appends the row to the session's tenant chain, sealed: the answer is its seq and hash, seqs stay dense and the chain verifies", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const first = await env.GATEHOUSE.recordAuditEvent(event(owner.sessionId, t.owner.id));
    const second = await env.GATEHOUSE.recordAuditEvent(event(owner.sessionId, t.owner.id, { action: "app.note.restored", outcome: "FAIL", failureReason: "NOT_IN_TRASH" }));
    if (!first.ok || !second.ok || first.seq === undefined) throw new Error(`refused or unplaced: ${JSON.stringify([first, second])}`);
    const all = await rows(t.id);
    expect(all.find((r) => r.seq === first.seq)?.id).toBe(first.id);
    expect(all.map((r) => r.seq)).toEqual(all.map((_r, i) => i + 1));
    const stored = all.find((r) => r.seq === first.seq);
    expect(stored).toMatchObject({ action: "app.note.deleted", actor_user_id: t.owner.id, real_user_id: null, is_impersonating: 0, target_type: "note", target_id: "note_42", ip: "203.0.113.10", user_agent: "Mozilla/5.0 product", request_id: "req-123", hash: first.hash });
    expect(JSON.parse(stored?.metadata ?? "null")).toEqual({ folder: "plans" });
    expect(second.seq).toBe(first.seq + 1);
    expect(all.find((r) => r.seq === second.seq)?.prev_hash).toBe(first.hash);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it("answers a linked row after the tenant's events still waiting in the outbox, which its answer drains first", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    // The sign-in's events wait in the outbox: the tenant's object was not told of them.
    const { sessionId } = await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ TENANT: tenantObjectsUnreachable() }) });
    const waiting = await outboxOf(t.id);
    expect(waiting.length).toBeGreaterThan(0);
    const res = await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id));
    if (!res.ok) throw new Error(JSON.stringify(res));
    expect(res.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(res.seq).toBe(waiting.length + 1);
    expect((await rows(t.id)).find((r) => r.seq === res.seq)?.hash).toBe(res.hash);
  });

  it("while an admin impersonates, the row names the impersonated user as actor and the admin as real user", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    h.clock.advanceSeconds(30);
    expect((await h.call("/api/security/stepup/verify", { cookie: admin.cookie, body: { purpose: "IMPERSONATION", code: h.code(t.admin) } })).status).toBe(200);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 42: notes missing" } })).status).toBe(200);
    const res = await env.GATEHOUSE.recordAuditEvent(event(admin.sessionId, t.member.id));
    if (!res.ok) throw new Error(JSON.stringify(res));
    const row = (await rows(t.id)).find((r) => r.seq === res.seq);
    expect(row).toMatchObject({ action: "app.note.deleted", actor_user_id: t.member.id, real_user_id: t.admin.id, is_impersonating: 1 });
  });

  it.each(["LOGIN_SUCCEEDED", "app.", "app..x", "APP.x", "app.Note", "app.note.", "gatehouse.login", `app.${"x".repeat(64)}`])(
    "a product action can never pass for another: %j is 400 VALIDATION_FAILED and nothing is recorded",
    async (action) => {
      const h = realTimeHarness();
      const t = await seedTenant();
      const { sessionId } = await h.login(t.member.email);
      const before = await rows(t.id);
      const res = await env.GATEHOUSE.recordAuditEvent({ ...event(sessionId, t.member.id), action: action as AuditEventInput["action"] });
      expect(res).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "action" }] });
      // The refusal itself is evidence, as on the API: one REQUEST_REFUSED row, nothing else.
      const added = (await rows(t.id)).slice(before.length);
      expect(added.map((r) => [r.action, r.failure_reason])).toEqual([["REQUEST_REFUSED", "VALIDATION_FAILED"]]);
    },
  );

  it("before, after and metadata are bounded (8 KiB of JSON each, 64 KiB per call): over it nothing is recorded", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    for (const extra of [{ metadata: { blob: "x".repeat(8 * 1024) } }, { before: "x".repeat(8 * 1024) }, { after: ["y".repeat(8 * 1024)] }]) {
      const res = await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id, extra));
      expect(res).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED" });
    }
    expect(await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id, { before: "x".repeat(70 * 1024) }))).toMatchObject({ ok: false, status: 413, error: "PAYLOAD_TOO_LARGE" });
    expect((await rows(t.id)).filter((r) => r.action.startsWith("app."))).toEqual([]);
    const fits = await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id, { metadata: { blob: "x".repeat(8 * 1024 - 20) } }));
    expect(fits.ok).toBe(true);
  });

  it("bad target types and values that are not JSON are refused", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    for (const targetType of ["Note", "1note", "n".repeat(33), "note-item"]) {
      expect(await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id, { targetType }))).toMatchObject({ status: 400, issues: [{ path: "targetType" }] });
    }
    expect(await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id, { metadata: { n: 1n } }))).toMatchObject({ status: 400, error: "VALIDATION_FAILED" });
    expect(await env.GATEHOUSE.recordAuditEvent({ ...event(sessionId, t.member.id), extra: true } as AuditEventInput)).toMatchObject({ status: 400, error: "VALIDATION_FAILED" });
  });

  it("a revoked session records nothing: 401", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    const before = await rows(t.id);
    expect(await env.GATEHOUSE.recordAuditEvent(event(sessionId, t.member.id))).toMatchObject({ ok: false, status: 401, error: "SESSION_REVOKED" });
    expect(await rows(t.id)).toEqual(before);
  });

  it("an unknown session records nothing anywhere: 401", async () => {
    const count = () => eventsEverCommitted();
    const before = await count();
    expect(await env.GATEHOUSE.recordAuditEvent(event("nosuchsession", "usr_nobody"))).toMatchObject({ ok: false, status: 401 });
    expect(await count()).toEqual(before);
  });

  it("the session names the tenant: a row lands in its tenant's chain, never another's", async () => {
    const h = realTimeHarness();
    const a = await seedTenant("a");
    const b = await seedTenant("b");
    const alice = await h.login(a.member.email);
    const bBefore = await rows(b.id);
    expect((await env.GATEHOUSE.recordAuditEvent(event(alice.sessionId, a.member.id))).ok).toBe(true);
    expect((await rows(a.id)).some((r) => r.action === "app.note.deleted")).toBe(true);
    expect(await rows(b.id)).toEqual(bBefore);
  });

  it("the audit search filters by a product action, validated the same way", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    expect((await env.GATEHOUSE.recordAuditEvent(event(owner.sessionId, t.owner.id))).ok).toBe(true);
    const found = await h.call<{ items: { action: string; targetId: string }[] }>("/api/audit-logs?action=app.note.deleted", { cookie: owner.cookie });
    expect(found.status).toBe(200);
    expect(found.body.items).toMatchObject([{ action: "app.note.deleted", targetId: "note_42" }]);
    for (const action of ["app..x", "APP.x", "app."]) {
      expect((await h.call(`/api/audit-logs?action=${encodeURIComponent(action)}`, { cookie: owner.cookie })).status).toBe(400);
    }
  });
});
