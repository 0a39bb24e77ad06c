import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, type SeededTenant, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

type MeBody = {
  user: { id: string; role: string };
  impersonation?: { realUser: { id: string; email: string }; reason: string; startedAt: string; expiresAt: string };
};

async function startAs(h: Harness, t: SeededTenant, targetId: string, actor = t.admin) {
  const admin = await h.session(actor);
  await h.stepUp(admin.cookie, "IMPERSONATION", actor);
  const res = await h.call(`/api/impersonate/${targetId}`, { cookie: admin.cookie, body: { reason: "Ticket #42: cannot see invoices" } });
  expect(res.status).toBe(200);
  return admin;
}

const auditRows = (tenantId: string) =>
  auditStore.prepare("SELECT action, outcome, actor_user_id, real_user_id, is_impersonating, target_id, failure_reason, json_extract(metadata, '$.reason') AS reason FROM audit_logs WHERE tenant_id = ? ORDER BY seq")
    .bind(tenantId)
    .all<{ action: string; outcome: string; actor_user_id: string; real_user_id: string | null; is_impersonating: number; target_id: string; failure_reason: string | null; reason: string | null }>()
    .then((r) => r.results);

describe("starting impersonation", () => {
  it("needs SETTINGS_TEAM_VIEW: a member gets 403", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const res = await h.call(`/api/impersonate/${t.admin.id}`, { cookie: member.cookie, body: { reason: "because" } });
    expect(res.status).toBe(403);
  });

  it("needs step-up IMPERSONATION: 428 without a grant", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const res = await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "because" } });
    expect(res.status).toBe(428);
    expect(res.body.purpose).toBe("IMPERSONATION");
  });

  it("requires a reason of 3-500 characters", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    for (const body of [{}, { reason: "ab" }, { reason: "x".repeat(501) }]) {
      expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body })).status).toBe(400);
    }
  });

  it("isolation: another tenant's user is 404", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "IMPERSONATION", t.owner);
    const res = await h.call(`/api/impersonate/${other.member.id}`, { cookie: owner.cookie, body: { reason: "cross tenant" } });
    expect(res.status).toBe(404);
  });

  it("rank: an admin cannot impersonate an admin-or-owner; an owner can impersonate an admin", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    const up = await h.call(`/api/impersonate/${t.owner.id}`, { cookie: admin.cookie, body: { reason: "escalate" } });
    expect(up.status).toBe(403);
    expect(up.body.error).toBe("IMPERSONATION_FORBIDDEN");
    await startAs(h, t, t.admin.id, t.owner);
  });

  it("no self: impersonating yourself is 403", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "IMPERSONATION", t.owner);
    const res = await h.call(`/api/impersonate/${t.owner.id}`, { cookie: owner.cookie, body: { reason: "myself" } });
    expect(res.body.error).toBe("IMPERSONATION_FORBIDDEN");
  });

  it("no chains: starting another impersonation while impersonating is 403", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await startAs(h, t, t.admin.id, t.owner);
    const res = await h.call(`/api/impersonate/${t.member.id}`, { cookie: owner.cookie, body: { reason: "chain" } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("IMPERSONATION_FORBIDDEN");
  });
});

describe("race: concurrent starts on one session (Promise.all)", () => {
  it("at most one begins, and only it is audited as started", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "IMPERSONATION", t.owner);
    const results = await Promise.all(
      [t.admin.id, t.member.id].map((id) => h.call(`/api/impersonate/${id}`, { cookie: owner.cookie, body: { reason: "two tabs at once" } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const started = (await auditRows(t.id)).filter((r) => r.action === "IMPERSONATION_STARTED" && r.outcome === "SUCCESS");
    expect(started).toHaveLength(1);
    const me = await h.call<MeBody>("/api/me", { cookie: owner.cookie });
    expect(me.body.user.id).toBe(started[0]?.target_id);
  });
});

describe("while impersonating", () => {
  it("/api/me answers as the target and names the real user", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    const me = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(me.body.user).toMatchObject({ id: t.member.id, role: "member" });
    expect(me.body.impersonation).toMatchObject({ realUser: { id: t.admin.id, email: t.admin.email }, reason: "Ticket #42: cannot see invoices" });
    expect(new Date(me.body.impersonation?.expiresAt ?? 0).getTime() - new Date(me.body.impersonation?.startedAt ?? 0).getTime()).toBe(30 * 60 * 1000);
  });

  it("every audit row carries the acting identity and realUserId", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    await h.call("/api/security/sessions/revoke-others", { cookie: admin.cookie, method: "POST" }); // refused, audited FAIL
    const rows = (await auditRows(t.id)).filter((r) => r.action === "SESSION_REVOKE_ALL");
    expect(rows).toEqual([
      expect.objectContaining({ outcome: "FAIL", actor_user_id: t.member.id, real_user_id: t.admin.id, is_impersonating: 1, failure_reason: "IMPERSONATION_FORBIDDEN" }),
    ]);
  });

  it.each([
    ["POST", "/api/security/sessions/revoke-others", undefined],
    ["POST", "/api/security/mfa/totp/enroll", undefined],
    ["POST", "/api/security/mfa/totp/disable", undefined],
    ["POST", "/api/security/mfa/recovery-codes/regenerate", undefined],
    ["POST", "/api/security/mfa/totp/confirm", { code: "123456" }],
    ["POST", "/api/security/stepup/verify", { purpose: "MFA_CHANGE", code: "123456" }],
    ["POST", "/api/security/ip-rules", { action: "deny", cidr: "192.0.2.0/24" }],
  ])("forbids %s %s with 403 IMPERSONATION_FORBIDDEN", async (method, path, body) => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    const res = await h.call(path, { cookie: admin.cookie, method, ...(body ? { body } : {}) });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("IMPERSONATION_FORBIDDEN");
  });

  it("forbids revoking a session and force logout", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const target = await h.login(t.member.email);
    const owner = await startAs(h, t, t.admin.id, t.owner);
    const revoke = await h.call(`/api/security/sessions/${target.sessionId}/revoke`, { cookie: owner.cookie, method: "POST" });
    expect(revoke.body.error).toBe("IMPERSONATION_FORBIDDEN");
    const force = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: owner.cookie, method: "POST" });
    expect(force.body.error).toBe("IMPERSONATION_FORBIDDEN");
    expect((await h.call("/api/me", { cookie: target.cookie })).status).toBe(200);
  });

  it("forbids IP rule edits and deletes, and role and permission changes (owner impersonating an admin)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const ruleId = "ipr_existing";
    await env.DB.prepare("INSERT INTO ip_rules (id, tenant_id, action, cidr, created_at, updated_at) VALUES (?, ?, 'deny', '192.0.2.0/24', 0, 0)").bind(ruleId, t.id).run();
    const owner = await startAs(h, t, t.admin.id, t.owner);
    const attempts = [
      h.call(`/api/security/ip-rules/${ruleId}`, { cookie: owner.cookie, method: "PATCH", body: { description: "x" } }),
      h.call(`/api/security/ip-rules/${ruleId}`, { cookie: owner.cookie, method: "DELETE" }),
      h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "admin" } }),
      h.call(`/api/users/${t.member.id}/permissions`, { cookie: owner.cookie, method: "PATCH", body: { grant: ["SETTINGS_TEAM_VIEW"] } }),
    ];
    for (const res of await Promise.all(attempts)) expect(res.body.error).toBe("IMPERSONATION_FORBIDDEN");
    const rule = await env.DB.prepare("SELECT id FROM ip_rules WHERE id = ?").bind(ruleId).first();
    expect(rule).not.toBeNull();
  });

  it("leaves the target's own sessions untouched and adds none to their list", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const target = await h.login(t.member.email);
    await startAs(h, t, t.member.id);
    const list = await h.call<{ sessions: { id: string }[] }>("/api/security/sessions", { cookie: target.cookie });
    expect(list.body.sessions.map((s) => s.id)).toEqual([target.sessionId]);
  });
});

describe("ending impersonation", () => {
  it("exit needs step-up verified with the admin's own factor, then restores the admin", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    h.clock.advanceSeconds(10 * 60 + 1); // the start grant's window has passed
    const noGrant = await h.call("/api/impersonate/exit", { cookie: admin.cookie, method: "POST" });
    expect(noGrant.status).toBe(428);
    expect(noGrant.body.methods).toEqual(["totp", "recovery_code"]); // the admin's factor; the member has none
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    expect((await h.call("/api/impersonate/exit", { cookie: admin.cookie, method: "POST" })).status).toBe(200);
    const me = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(me.body.user.id).toBe(t.admin.id);
    expect(me.body.impersonation).toBeUndefined();
  });

  it("expiry: after the limit the next request is the admin again, and EXPIRED is audited once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    h.clock.advanceSeconds(30 * 60);
    const first = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(first.body.user.id).toBe(t.admin.id);
    await Promise.all([h.call("/api/me", { cookie: admin.cookie }), h.call("/api/me", { cookie: admin.cookie })]);
    const ended = (await auditRows(t.id)).filter((r) => r.action === "IMPERSONATION_ENDED");
    expect(ended).toEqual([expect.objectContaining({ reason: "EXPIRED", target_id: t.member.id })]);
  });

  it("a change sent as the member just after the impersonation expired is refused (409), never run as the admin", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    h.clock.advanceSeconds(30); // a fresh TOTP step for a second sign-in
    const other = await h.session(t.admin);
    h.clock.advanceSeconds(30 * 60);
    const res = await h.call("/api/security/sessions/revoke-others", { cookie: admin.cookie, method: "POST", body: {} });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("IMPERSONATION_ENDED");
    expect((await h.call("/api/me", { cookie: other.cookie })).status).toBe(200);
    const me = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(me.body.user.id).toBe(t.admin.id);
  });

  it("signing out just after an impersonation expired still signs out", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    h.clock.advanceSeconds(30 * 60);
    expect((await h.call("/api/auth/logout", { cookie: admin.cookie, method: "POST" })).status).toBe(200);
  });

  it("signing out while impersonating ends both", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    expect((await h.call("/api/auth/logout", { cookie: admin.cookie, method: "POST" })).status).toBe(200);
    expect((await h.call("/api/me", { cookie: admin.cookie })).status).toBe(401);
    const ended = (await auditRows(t.id)).filter((r) => r.action === "IMPERSONATION_ENDED");
    expect(ended).toEqual([expect.objectContaining({ reason: "LOGOUT" })]);
  });

  it("revoking the admin's session (force logout by an owner) ends the impersonation with it", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "FORCE_LOGOUT", t.owner);
    expect((await h.call(`/api/users/${t.admin.id}/force-logout`, { cookie: owner.cookie, method: "POST" })).status).toBe(200);
    expect((await h.call("/api/me", { cookie: admin.cookie })).status).toBe(401);
    const ended = (await auditRows(t.id)).filter((r) => r.action === "IMPERSONATION_ENDED");
    expect(ended).toEqual([expect.objectContaining({ reason: "SESSION_REVOKED" })]);
  });

  it("the whole lifecycle leaves exactly the expected audit rows", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await startAs(h, t, t.member.id);
    await h.call("/api/me", { cookie: admin.cookie });
    await h.call("/api/impersonate/exit", { cookie: admin.cookie, method: "POST" });
    const rows = (await auditRows(t.id)).map((r) => [r.action, r.outcome, r.actor_user_id, r.real_user_id, r.is_impersonating, r.reason]);
    // The admin's session was made without a sign-in (Harness.session): every row is the lifecycle's.
    expect(rows).toEqual([
      ["STEP_UP_VERIFIED", "SUCCESS", t.admin.id, null, 0, null],
      ["IMPERSONATION_STARTED", "SUCCESS", t.admin.id, null, 0, "Ticket #42: cannot see invoices"],
      ["IMPERSONATION_ENDED", "SUCCESS", t.admin.id, t.admin.id, 1, "EXIT"],
    ]);
  });
});
