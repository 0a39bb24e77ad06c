// recordAuditEvent never answers an error for an event it committed, and a retry with the
// same idempotency key records nothing new.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { seedTenant } from "./helpers";
import { auditRows, productEvent, realTimeHarness, verifyStepUp } from "./rpc-fixtures";

const KEY = "5b0c2a7e-8f51-4c9e-9d0a-3e6f1b2c4d5e";
const DAY_MS = 24 * 60 * 60 * 1000;

const productRows = async (tenantId: string) => (await auditRows(tenantId)).filter((r) => r.action.startsWith("app."));

/** Makes the read-back of a recorded row's place (its seq and hash, from the tenant's object) fail, in this isolate (the Worker under test shares it). */
function failReadBack() {
  const proto = Object.getPrototypeOf(env.TENANT) as { get: (id: DurableObjectId) => DurableObjectStub };
  const get = proto.get;
  return vi.spyOn(proto, "get").mockImplementation(function (this: DurableObjectNamespace, id: DurableObjectId) {
    const stub = get.call(this, id);
    return new Proxy(stub, {
      get(target, prop) {
        if (prop === "auditPlace") return () => Promise.reject(new Error("Durable Object unavailable"));
        // An RPC stub's methods are called as they are (binding one would be a remote call of "bind").
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (...args: unknown[]) => Reflect.apply(value, target, args) : value;
      },
    });
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GatehouseService.recordAuditEvent: a committed event is answered as recorded, once", () => {
  it("an event committed whose place cannot be read back answers success without seq and hash, saying so", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    failReadBack();
    const res = await env.GATEHOUSE.recordAuditEvent(productEvent(sessionId, t.member.id));
    vi.restoreAllMocks();
    const rows = await productRows(t.id);
    expect(rows).toHaveLength(1);
    expect(res).toEqual({ ok: true, id: rows[0]?.id, placeUnavailable: true });
  });

  it("a retry with the same idempotency key records one row and answers the first recording's id and place", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    const input = productEvent(sessionId, t.member.id, { idempotencyKey: KEY });
    failReadBack();
    const first = await env.GATEHOUSE.recordAuditEvent(input);
    vi.restoreAllMocks();
    expect(first).toMatchObject({ ok: true, placeUnavailable: true });
    const retry = await env.GATEHOUSE.recordAuditEvent(input);
    const rows = await productRows(t.id);
    expect(rows).toHaveLength(1);
    expect(retry).toEqual({ ok: true, id: rows[0]?.id, seq: rows[0]?.seq, hash: rows[0]?.hash, replayed: true });
  });

  it("parallel calls with one idempotency key record one row, and every one answers it", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    const input = productEvent(sessionId, t.member.id, { idempotencyKey: KEY });
    const answers = await Promise.all([0, 1, 2, 3].map(() => env.GATEHOUSE.recordAuditEvent(input)));
    const rows = await productRows(t.id);
    expect(rows).toHaveLength(1);
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, id: rows[0]?.id, seq: rows[0]?.seq });
  });

  it("the same idempotency key with a different event is refused with 409 IDEMPOTENCY_KEY_REUSED and records nothing", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    expect((await env.GATEHOUSE.recordAuditEvent(productEvent(sessionId, t.member.id, { idempotencyKey: KEY }))).ok).toBe(true);
    const other = await env.GATEHOUSE.recordAuditEvent(productEvent(sessionId, t.member.id, { idempotencyKey: KEY, targetId: "note_43" }));
    expect(other).toMatchObject({ ok: false, status: 409, error: "IDEMPOTENCY_KEY_REUSED" });
    expect((await productRows(t.id)).map((r) => r.target_id)).toEqual(["note_42"]);
  });

  it("an idempotency key is scoped to its tenant: another tenant's use of it records its own row", async () => {
    const h = realTimeHarness();
    const a = await seedTenant("ia");
    const b = await seedTenant("ib");
    const alice = await h.login(a.member.email);
    const bob = await h.login(b.member.email);
    expect((await env.GATEHOUSE.recordAuditEvent(productEvent(alice.sessionId, a.member.id, { idempotencyKey: KEY }))).ok).toBe(true);
    const other = await env.GATEHOUSE.recordAuditEvent(productEvent(bob.sessionId, b.member.id, { idempotencyKey: KEY }));
    expect(other).toMatchObject({ ok: true });
    expect(other).not.toHaveProperty("replayed");
    expect(await productRows(b.id)).toHaveLength(1);
  });

  it("an idempotency key is kept 24 hours: once older, the same key records a new row", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    const input = productEvent(sessionId, t.member.id, { idempotencyKey: KEY });
    expect((await env.GATEHOUSE.recordAuditEvent(input)).ok).toBe(true);
    await env.DB.prepare("UPDATE product_audit_keys SET created_at = created_at - ? WHERE tenant_id = ?").bind(DAY_MS, t.id).run();
    const later = await env.GATEHOUSE.recordAuditEvent(input);
    expect(later).toMatchObject({ ok: true });
    expect(later).not.toHaveProperty("replayed");
    expect(await productRows(t.id)).toHaveLength(2);
    // The expired key was pruned by that recording: one key, the new row's.
    const keys = await env.DB.prepare("SELECT audit_log_id FROM product_audit_keys WHERE tenant_id = ?").bind(t.id).all<{ audit_log_id: string }>();
    expect(keys.results.map((k) => k.audit_log_id)).toEqual([(later as { id: string }).id]);
  });

  it("a retry of an event recorded while impersonating answers that recording even once the impersonation has ended, and records nothing as the admin", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    expect((await verifyStepUp(h, admin.cookie, "IMPERSONATION", t.admin)).status).toBe(200);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 9: retried" } })).status).toBe(200);
    const input = productEvent(admin.sessionId, t.member.id, { idempotencyKey: KEY });
    const first = await env.GATEHOUSE.recordAuditEvent(input);
    expect((await h.call("/api/impersonate/exit", { cookie: admin.cookie, method: "POST" })).status).toBe(200);
    const retry = await env.GATEHOUSE.recordAuditEvent(input);
    expect(retry).toMatchObject({ ok: true, id: (first as { id: string }).id, replayed: true });
    expect(await productRows(t.id)).toMatchObject([{ actor_user_id: t.member.id, real_user_id: t.admin.id, is_impersonating: 1 }]);
  });

  it.each(["short", "x".repeat(129), "has space in it 1234", "ünïcode-key-123456"])("a malformed idempotency key %j is 400 VALIDATION_FAILED and records nothing", async (idempotencyKey) => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    expect(await env.GATEHOUSE.recordAuditEvent(productEvent(sessionId, t.member.id, { idempotencyKey }))).toMatchObject({ ok: false, status: 400, issues: [{ path: "idempotencyKey" }] });
    expect(await productRows(t.id)).toEqual([]);
  });
});
