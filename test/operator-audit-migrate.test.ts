import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { auditRowsOf } from "./audit-store";
import { type CallOptions, Harness, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";
import { legacyRowsInD1, seedLegacyChain } from "./legacy-audit-fixtures";

const TOKEN = "operator-token-for-tests-0123456789abcdef";
const asOperator: CallOptions = { env: withEnv({ OPERATOR_TOKEN: TOKEN }), headers: { authorization: `Bearer ${TOKEN}` } };

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null; reason: string | null; fromSeq: number; headSeq: number };
type MigrateAnswer = {
  moved: { tenantId: string; verify: Verify }[];
  unavailable: string | null;
  left: { tenants: number; rows: number };
  more: boolean;
  error?: string;
};

const migrate = (h: Harness, body: Record<string, unknown> = {}, options = asOperator) => h.call<MigrateAnswer>("/api/operator/audit/migrate", { ...options, body });
const byTenant = (moved: MigrateAnswer["moved"]) => [...moved].sort((a, b) => a.tenantId.localeCompare(b.tenantId));

/** Tenants with a chain of `rows` rows each in D1, as before the upgrade. */
async function legacyTenants(rows: number[]) {
  const seeded = [];
  for (const [i, n] of rows.entries()) {
    const t = await seedTenant(`legacy${i}`, { totp: false });
    seeded.push({ id: t.id, rows: await seedLegacyChain(t.id, { rows: n }) });
  }
  return seeded;
}

describe("operator: the audit rows D1 holds from before the upgrade move into their tenants' objects on demand", () => {
  // The file's tests share its D1: each starts with no legacy rows (a refused call leaves its rows there).
  beforeEach(async () => {
    await env.DB.exec("DELETE FROM audit_logs");
  });

  it("the migration moves each tenant's rows into its object, with their seq and hashes, and reports each chain verifying there", async () => {
    const h = new Harness();
    const [a, b] = await legacyTenants([30, 5]);
    if (!a || !b) throw new Error("two tenants seeded");
    const res = await migrate(h);
    expect(res.status).toBe(200);
    expect(byTenant(res.body.moved)).toEqual(
      byTenant([
        { tenantId: a.id, verify: { ok: true, checked: 30, firstBrokenSeq: null, reason: null, fromSeq: 0, headSeq: 30 } },
        { tenantId: b.id, verify: { ok: true, checked: 5, firstBrokenSeq: null, reason: null, fromSeq: 0, headSeq: 5 } },
      ]),
    );
    expect([res.body.unavailable, res.body.left, res.body.more]).toEqual([null, { tenants: 0, rows: 0 }, false]);
    for (const t of [a, b]) expect((await auditRowsOf(t.id)).map((r) => [r.id, r.seq, r.hash])).toEqual(t.rows.map((r) => [r.id, r.seq, r.hash]));
    expect(await legacyRowsInD1()).toBe(0);
  });

  it("a second migration moves nothing and leaves every chain as the first left it", async () => {
    const h = new Harness();
    const [a] = await legacyTenants([7]);
    if (!a) throw new Error("a tenant seeded");
    expect((await migrate(h)).body.moved.map((t) => t.tenantId)).toEqual([a.id]);
    const chain = await auditRowsOf(a.id);
    const again = await migrate(h);
    expect([again.status, again.body]).toEqual([200, { moved: [], unavailable: null, left: { tenants: 0, rows: 0 }, more: false }]);
    expect(await auditRowsOf(a.id)).toEqual(chain);
  });

  it("a call moves at most its limit of tenants and says more are left; the next call moves the rest", async () => {
    const h = new Harness();
    const seeded = await legacyTenants([4, 6, 8]);
    const first = await migrate(h, { limit: 2 });
    expect(first.status).toBe(200);
    expect(first.body.moved).toHaveLength(2);
    const rest = seeded.filter((t) => !first.body.moved.some((m) => m.tenantId === t.id));
    expect([first.body.left, first.body.more]).toEqual([{ tenants: 1, rows: rest[0]?.rows.length }, true]);
    const second = await migrate(h, { limit: 2 });
    expect(second.body.moved.map((t) => [t.tenantId, t.verify.ok])).toEqual(rest.map((t) => [t.id, true]));
    expect([second.body.left, second.body.more]).toEqual([{ tenants: 0, rows: 0 }, false]);
  });

  it("a limit outside 1 to 50 tenants, or any other field, is refused (400 VALIDATION_FAILED) and nothing moves", async () => {
    const h = new Harness();
    await legacyTenants([3]);
    for (const body of [{ limit: 0 }, { limit: 51 }, { limit: 2.5 }, { limit: "2" }, { tenants: 1 }]) {
      const res = await migrate(h, body);
      expect([JSON.stringify(body), res.status, res.body.error]).toEqual([JSON.stringify(body), 400, "VALIDATION_FAILED"]);
    }
    expect(await legacyRowsInD1()).toBe(3);
  });

  it("a tenant whose chain was already broken in D1 is moved and reported with its first broken seq, and the other tenants still move", async () => {
    const h = new Harness();
    const broken = await seedTenant("broken", { totp: false });
    await seedLegacyChain(broken.id, { rows: 6, editedSeq: 3 });
    const [intact] = await legacyTenants([4]);
    const res = await migrate(h);
    expect(byTenant(res.body.moved).map((t) => [t.tenantId, t.verify.ok, t.verify.firstBrokenSeq, t.verify.reason])).toEqual(
      byTenant(res.body.moved).map((t) => (t.tenantId === broken.id ? [broken.id, false, 3, "HASH"] : [intact?.id, true, null, null])),
    );
    expect(res.body.moved).toHaveLength(2);
    expect(res.body.more).toBe(false);
  });

  it("the migration fails closed without the checkpoint key: 503 AUDIT_KEY_UNAVAILABLE and nothing moves", async () => {
    const h = new Harness();
    await legacyTenants([3]);
    const res = await migrate(h, {}, { ...asOperator, env: withEnv({ OPERATOR_TOKEN: TOKEN, AUDIT_CHECKPOINT_KEY: undefined }) });
    expect([res.status, res.body.error]).toEqual([503, "AUDIT_KEY_UNAVAILABLE"]);
    expect(await legacyRowsInD1()).toBe(3);
  });

  it("a tenant whose object cannot be reached ends the call: it is named, its rows stay in D1, and the next call moves them", async () => {
    const h = new Harness();
    const [t] = await legacyTenants([5]);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await migrate(h, {}, { ...asOperator, env: withEnv({ OPERATOR_TOKEN: TOKEN, TENANT: tenantObjectsUnreachable() }) });
    expect([res.status, res.body.moved, res.body.unavailable, res.body.left, res.body.more]).toEqual([200, [], t?.id, { tenants: 1, rows: 5 }, true]);
    const again = await migrate(h);
    expect(again.body.moved.map((m) => [m.tenantId, m.verify.ok])).toEqual([[t?.id, true]]);
  });
});
