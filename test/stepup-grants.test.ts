import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

const forceLogout = (h: Harness, cookie: string, userId: string) => h.call(`/api/users/${userId}/force-logout`, { cookie, method: "POST" });

describe("step-up grants are bound to the session, the user and the purpose", () => {
  it("a grant earned in another session never counts", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    const b = await h.session(t.admin);
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.admin);
    expect((await forceLogout(h, b.cookie, t.member.id)).status).toBe(428);
  });

  it("a grant for another purpose never counts", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    await h.stepUp(a.cookie, "REVOKE_SESSION", t.admin);
    expect((await forceLogout(h, a.cookie, t.member.id)).status).toBe(428);
  });

  it("single-use: one FORCE_LOGOUT grant covers exactly one action", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.admin);
    expect((await forceLogout(h, a.cookie, t.member.id)).status).toBe(200);
    expect((await forceLogout(h, a.cookie, t.member.id)).status).toBe(428);
  });

  it("single-use race: concurrent actions share one grant at most once (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.owner);
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.owner);
    const results = await Promise.all([forceLogout(h, a.cookie, t.member.id), forceLogout(h, a.cookie, t.admin.id)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 428]);
  });

  it("a single-use grant is given back when the action is refused", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.admin);
    expect((await forceLogout(h, a.cookie, t.owner.id)).status).toBe(403); // outranks the admin
    expect((await forceLogout(h, a.cookie, t.member.id)).status).toBe(200);
  });

  it("a window grant covers several actions until it expires (clock injected)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const s1 = await h.login(t.member.email);
    const s2 = await h.login(t.member.email);
    const s3 = await h.login(t.member.email);
    await h.stepUp(me.cookie, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${s1.sessionId}/revoke`, { cookie: me.cookie, method: "POST" })).status).toBe(200);
    expect((await h.call(`/api/security/sessions/${s2.sessionId}/revoke`, { cookie: me.cookie, method: "POST" })).status).toBe(200);
    h.clock.advanceSeconds(10 * 60 + 1);
    const expired = await h.call(`/api/security/sessions/${s3.sessionId}/revoke`, { cookie: me.cookie, method: "POST" });
    expect(expired.status).toBe(428);
  });

  it("a revoked session's grants die with it, even while KV still says it is live", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.admin);
    // Revoked in D1 only, as seen from a location whose KV has not caught up.
    await env.DB.prepare("UPDATE user_sessions SET revoked_at = 1, revoke_reason = 'REVOKED' WHERE id = ?").bind(a.sessionId).run();
    const res = await forceLogout(h, a.cookie, t.member.id);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_REVOKED");
  });
});

describe("no silent downgrade", () => {
  it("admin purposes without TOTP: 428 says enrollmentRequired and a password is refused", async () => {
    const h = new Harness();
    const t = await seedTenant("plain", { totp: false });
    const admin = await h.login(t.admin.email);
    const res = await forceLogout(h, admin.cookie, t.member.id);
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ purpose: "FORCE_LOGOUT", methods: [], enrollmentRequired: true });
    const verify = await h.call("/api/security/stepup/verify", { cookie: admin.cookie, body: { purpose: "FORCE_LOGOUT", password: PASSWORD } });
    expect(verify.status).toBe(403);
    expect(verify.body.error).toBe("MFA_ENROLLMENT_REQUIRED");
    expect((await forceLogout(h, admin.cookie, t.member.id)).status).toBe(428);
  });

  it("a user with TOTP cannot step up with the password instead", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const verify = await h.call("/api/security/stepup/verify", { cookie: admin.cookie, body: { purpose: "REVOKE_SESSION", password: PASSWORD } });
    expect(verify.status).toBe(400);
    expect(verify.body.error).toBe("METHOD_NOT_ALLOWED");
  });

  it("self-service purposes accept the password when the user has no TOTP", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const verify = await h.call<{ success: boolean; expiresAt: string }>("/api/security/stepup/verify", {
      cookie: me.cookie,
      body: { purpose: "REVOKE_ALL_OTHER_SESSIONS", password: PASSWORD },
    });
    expect(verify.status).toBe(200);
    expect(new Date(verify.body.expiresAt).getTime()).toBe(h.clock.ms + 10 * 60 * 1000);
  });
});

describe("POST /api/security/stepup/verify input", () => {
  it("400 for an unknown purpose or for two factors at once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const unknown = await h.call("/api/security/stepup/verify", { cookie: me.cookie, body: { purpose: "EVERYTHING", password: PASSWORD } });
    expect(unknown.status).toBe(400);
    const both = await h.call("/api/security/stepup/verify", { cookie: me.cookie, body: { purpose: "REVOKE_SESSION", password: PASSWORD, code: "123456" } });
    expect(both.status).toBe(400);
  });

  it("audits STEP_UP_VERIFIED as SUCCESS, and FAIL with the reason", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.session(t.admin);
    await h.call("/api/security/stepup/verify", { cookie: a.cookie, body: { purpose: "FORCE_LOGOUT", code: "000000" } });
    await h.stepUp(a.cookie, "FORCE_LOGOUT", t.admin);
    const rows = await auditStore.prepare("SELECT outcome, failure_reason, json_extract(metadata, '$.purpose') AS purpose FROM audit_logs WHERE tenant_id = ? AND action = 'STEP_UP_VERIFIED' ORDER BY seq")
      .bind(t.id)
      .all();
    expect(rows.results).toEqual([
      { outcome: "FAIL", failure_reason: "INVALID_OTP", purpose: null },
      { outcome: "SUCCESS", failure_reason: null, purpose: "FORCE_LOGOUT" },
    ]);
  });
});
