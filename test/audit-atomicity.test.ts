import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, d1WithBrokenAudit, seedTenant, withEnv } from "./helpers";

describe("atomicity: no audit row, no change", () => {
  it("a revocation whose audit row cannot be written does not happen", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    await h.stepUp(me.cookie, "REVOKE_SESSION", t.member);
    const res = await h.call(`/api/security/sessions/${other.sessionId}/revoke`, {
      cookie: me.cookie,
      method: "POST",
      env: withEnv({ DB: d1WithBrokenAudit(env.DB) }),
    });
    expect(res.status).toBe(500);
    const row = await env.DB.prepare("SELECT revoked_at FROM user_sessions WHERE id = ?").bind(other.sessionId).first<{ revoked_at: number | null }>();
    expect(row?.revoked_at).toBeNull();
    expect((await h.call("/api/me", { cookie: other.cookie })).status).toBe(200);
  });

  it("a sign-in whose audit rows cannot be written creates no session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call("/api/auth/login", { body: { email: t.member.email, password: "correct horse battery staple" }, env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect(res.status).toBe(500);
    expect(res.cookie).toBeUndefined();
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE user_id = ?").bind(t.member.id).first<{ n: number }>();
    expect(n?.n).toBe(0);
  });

  it("a role change whose audit row cannot be written does not happen", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    const res = await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "admin" }, env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect(res.status).toBe(500);
    const user = await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(t.member.id).first<{ role: string }>();
    expect(user?.role).toBe("member");
  });
});
