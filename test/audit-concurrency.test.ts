import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null };

const PARALLEL = 60;

async function failRows(tenantId: string, action: string) {
  const row = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = ? AND outcome = 'FAIL'")
    .bind(tenantId, action)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A D1 binding on which another writer always commits first: `compete` runs before every batch. */
function d1AlwaysRacedBy(inner: D1Database, compete: () => Promise<unknown>): D1Database {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await compete();
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("no audit row is lost under concurrency", () => {
  it("an audit write is recorded even when another writer commits right before its batch, every time", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.signIn(t.admin);
    // The competitor is a real refused request on the plain binding (its own batch is not raced).
    const compete = () => h.call(`/api/users/${t.member.id}/permissions`, { cookie: admin.cookie, method: "PATCH", body: { grant: "everything" } });
    const raced = withEnv({ DB: d1AlwaysRacedBy(env.DB, compete) });
    for (let i = 0; i < 3; i++) {
      const res = await h.call(`/api/users/${t.member.id}/role`, { cookie: admin.cookie, method: "PATCH", body: { role: "emperor" }, env: raced });
      expect(res.status).toBe(400);
    }
    expect(await failRows(t.id, "USER_ROLE_UPDATED")).toBe(3);
    expect(await failRows(t.id, "USER_PERMISSIONS_UPDATED")).toBeGreaterThanOrEqual(3);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: admin.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it(`${PARALLEL} parallel refused requests from one admin write exactly ${PARALLEL} FAIL rows, and the chain verifies`, async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.signIn(t.admin);
    const refused = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        h.call(`/api/users/${t.member.id}/role`, { cookie: admin.cookie, method: "PATCH", body: { role: "emperor" } }),
      ),
    );
    expect(refused.every((r) => r.status === 400)).toBe(true);
    expect(await failRows(t.id, "USER_ROLE_UPDATED")).toBe(PARALLEL);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: admin.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it(`${PARALLEL} parallel failed sign-ins for one account write exactly ${PARALLEL} FAIL rows in a dense, verifying chain`, async () => {
    const h = new Harness();
    const t = await seedTenant();
    // One address each: repeats from one address are deduplicated by design (src/audit/dedupe.ts),
    // so distinct addresses make every refusal one that must have its own row.
    await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        h.call("/api/auth/login", { body: { email: t.admin.email, password: "wrong password" }, ip: `198.51.100.${i + 1}` }),
      ),
    );
    expect(await failRows(t.id, "LOGIN_FAILED")).toBe(PARALLEL);
    const owner = await h.signIn(t.owner);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
    const seqs = await auditStore.prepare("SELECT seq FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all<{ seq: number }>();
    expect(seqs.results.map((r) => r.seq)).toEqual(Array.from({ length: seqs.results.length }, (_, i) => i + 1));
  });
});
