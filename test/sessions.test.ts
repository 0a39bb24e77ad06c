import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

type SessionsBody = { sessions: { id: string; current: boolean; device: string; ip: string; revokedAt: string | null; active: boolean }[]; currentSessionId: string };

describe("GET /api/security/sessions", () => {
  it("lists my sessions newest first, marks the current one, and never returns token hashes", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.login(t.member.email);
    h.clock.advanceSeconds(5);
    const b = await h.login(t.member.email);
    const res = await h.call<SessionsBody>("/api/security/sessions", { cookie: a.cookie });
    expect(res.status).toBe(200);
    expect(res.body.currentSessionId).toBe(a.sessionId);
    expect(res.body.sessions.map((s) => s.id)).toEqual([b.sessionId, a.sessionId]);
    expect(res.body.sessions.find((s) => s.id === a.sessionId)?.current).toBe(true);
    expect(res.body.sessions[0]?.device).toBe("Chrome on macOS");
    expect(JSON.stringify(res.body)).not.toMatch(/hash|secret/i);
  });

  it("derives 'current' from the request: two tabs of the same user each see their own", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.login(t.member.email);
    const b = await h.login(t.member.email);
    const fromB = await h.call<SessionsBody>("/api/security/sessions", { cookie: b.cookie });
    expect(fromB.body.sessions.filter((s) => s.current).map((s) => s.id)).toEqual([b.sessionId]);
    const fromA = await h.call<SessionsBody>("/api/security/sessions", { cookie: a.cookie });
    expect(fromA.body.sessions.filter((s) => s.current).map((s) => s.id)).toEqual([a.sessionId]);
  });

  it("lets an admin list another member's sessions", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    const res = await h.call<SessionsBody>(`/api/security/sessions?userId=${t.member.id}`, { cookie: admin.cookie });
    expect(res.status).toBe(200);
    expect(res.body.sessions.map((s) => s.id)).toEqual([member.sessionId]);
  });

  it("403 for a member listing another user's sessions", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const res = await h.call(`/api/security/sessions?userId=${t.admin.id}`, { cookie: member.cookie });
    expect(res.status).toBe(403);
  });

  it("isolation: another tenant's user is 404, even for an owner", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const owner = await h.session(t.owner);
    const res = await h.call(`/api/security/sessions?userId=${other.member.id}`, { cookie: owner.cookie });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("USER_NOT_FOUND");
  });

  it("400 for a malformed userId", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const res = await h.call("/api/security/sessions?userId=../../etc", { cookie });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("VALIDATION_FAILED");
  });

  it("a session the list calls active is one the edge check admits, and one it calls inactive is refused, whatever state its row or its user is in", async () => {
    const IDLE_MS = 60 * 60 * 1000;
    const sessionRow = (set: string, value: (nowMs: number) => number) => (ids: { sessionId: string }, nowMs: number) =>
      env.DB.prepare(`UPDATE user_sessions SET ${set} = ? WHERE id = ?`).bind(value(nowMs), ids.sessionId);
    const userRow = (set: string, ...values: ((nowMs: number) => number)[]) => (ids: { userId: string }, nowMs: number) =>
      env.DB.prepare(`UPDATE users SET ${set} WHERE id = ?`).bind(...values.map((v) => v(nowMs)), ids.userId);
    // Each leaves the member's session or the member in a state written to D1 only, as any writer could leave them.
    const states: [string, ((ids: { sessionId: string; userId: string }, nowMs: number) => D1PreparedStatement) | null][] = [
      ["live", null],
      ["revoked", sessionRow("revoked_at", (now) => now)],
      ["idle past the limit", sessionRow("last_seen_at", (now) => now - IDLE_MS - 1)],
      ["idle exactly at the limit", sessionRow("last_seen_at", (now) => now - IDLE_MS)],
      ["past its absolute lifetime", sessionRow("expires_at", (now) => now)],
      ["its user signed out everywhere (session_version moved on)", userRow("session_version = session_version + 1")],
      ["its user disabled", userRow("disabled_at = ?", (now) => now)],
    ];
    for (const [what, change] of states) {
      const h = new Harness();
      const t = await seedTenant("live");
      const owner = await h.session(t.owner);
      const member = await h.login(t.member.email);
      h.clock.advanceSeconds(2); // past the in-isolate copy of the session's state
      await change?.(member, h.clock.ms).run();
      await env.SESSION_CACHE.delete(`session:${member.sessionId}`);

      const listed = await h.call<SessionsBody>(`/api/security/sessions?userId=${t.member.id}`, { cookie: owner.cookie });
      expect(listed.status).toBe(200);
      const active = listed.body.sessions.find((s) => s.id === member.sessionId)?.active ?? false;
      const admitted = (await h.call("/api/me", { cookie: member.cookie })).status === 200;
      expect({ what, active }).toEqual({ what, active: admitted });
    }
  });
});

describe("POST /api/security/sessions/:id/revoke", () => {
  it("revokes another of my sessions: it gets 401 SESSION_REVOKED, I stay signed in", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    await h.stepUp(me.cookie, "REVOKE_SESSION", t.member);
    const res = await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: me.cookie, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect((await h.call("/api/me", { cookie: other.cookie })).body.error).toBe("SESSION_REVOKED");
    expect((await h.call("/api/me", { cookie: me.cookie })).status).toBe(200);
  });

  it("revoking the current session clears the cookie and says currentRevoked", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    await h.stepUp(me.cookie, "REVOKE_SESSION", t.member);
    const res = await h.call(`/api/security/sessions/${me.sessionId}/revoke`, { cookie: me.cookie, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, currentRevoked: true });
    expect(res.cookie).toMatch(/Max-Age=0/);
    expect((await h.call("/api/me", { cookie: me.cookie })).body.error).toBe("SESSION_REVOKED");
  });

  it("needs step-up: 428 STEP_UP_REQUIRED without a grant, nothing revoked", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    const res = await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: me.cookie, method: "POST" });
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "REVOKE_SESSION", methods: ["password"] });
    expect((await h.call("/api/me", { cookie: other.cookie })).status).toBe(200);
  });

  it("403 for a member revoking someone else's session; the session survives", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const member = await h.login(t.member.email);
    await h.stepUp(member.cookie, "REVOKE_SESSION", t.member);
    const res = await h.call(`/api/security/sessions/${admin.sessionId}/revoke`, { cookie: member.cookie, method: "POST" });
    expect(res.status).toBe(403);
    expect((await h.call("/api/me", { cookie: admin.cookie })).status).toBe(200);
  });

  it("an admin may revoke a member's session but not the owner's", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "REVOKE_USER_SESSION", t.admin);
    expect((await h.call(`/api/security/sessions/${member.sessionId}/revoke`, { cookie: admin.cookie, method: "POST" })).status).toBe(200);
    expect((await h.call(`/api/security/sessions/${owner.sessionId}/revoke`, { cookie: admin.cookie, method: "POST" })).status).toBe(403);
    const row = await env.DB.prepare("SELECT revoke_reason FROM user_sessions WHERE id = ?").bind(member.sessionId).first<{ revoke_reason: string }>();
    expect(row?.revoke_reason).toBe("REVOKED_BY_ADMIN");
  });

  it("revoking another user's session needs a second factor: a password grant never counts", async () => {
    const h = new Harness();
    const t = await seedTenant("pw", { totp: false });
    const member = await h.login(t.member.email);
    const admin = await h.login(t.admin.email);
    const adminOther = await h.login(t.admin.email);
    await h.stepUp(admin.cookie, "REVOKE_SESSION", t.admin); // password: fine for the admin's own sessions
    const res = await h.call(`/api/security/sessions/${member.sessionId}/revoke`, { cookie: admin.cookie, method: "POST" });
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ purpose: "REVOKE_USER_SESSION", methods: [], enrollmentRequired: true });
    const verify = await h.call("/api/security/stepup/verify", { cookie: admin.cookie, body: { purpose: "REVOKE_USER_SESSION", password: PASSWORD } });
    expect(verify.status).toBe(403);
    expect(verify.body.error).toBe("MFA_ENROLLMENT_REQUIRED");
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(200);
    // Self-service stays as it was: the admin's own other session, with the password grant.
    expect((await h.call(`/api/security/sessions/${adminOther.sessionId}/revoke`, { cookie: admin.cookie, method: "POST" })).status).toBe(200);
  });

  it("isolation: another tenant's session is 404 and stays alive", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const victim = await h.login(other.member.email);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "REVOKE_SESSION", t.owner);
    const res = await h.call(`/api/security/sessions/${victim.sessionId}/revoke`, { cookie: owner.cookie, method: "POST" });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("SESSION_NOT_FOUND");
    expect((await h.call("/api/me", { cookie: victim.cookie })).status).toBe(200);
  });

  it("writes the revocation and its audit row together, and audits the refusal", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    await h.stepUp(me.cookie, "REVOKE_SESSION", t.member);
    await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: me.cookie, method: "POST" });
    await h.call(`/api/security/sessions/nosuchsession/revoke`, { cookie: me.cookie, method: "POST" });
    const rows = await auditStore.prepare("SELECT outcome, target_id, failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'SESSION_REVOKED' ORDER BY seq")
      .bind(t.id)
      .all();
    expect(rows.results).toEqual([
      { outcome: "SUCCESS", target_id: other.sessionId, failure_reason: null },
      { outcome: "FAIL", target_id: "nosuchsession", failure_reason: "SESSION_NOT_FOUND" },
    ]);
  });
});

describe("POST /api/security/sessions/revoke-others", () => {
  it("revokes every other session and never the current one", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const others = [await h.login(t.member.email), await h.login(t.member.email)];
    await h.stepUp(me.cookie, "REVOKE_ALL_OTHER_SESSIONS", t.member);
    const res = await h.call("/api/security/sessions/revoke-others", { cookie: me.cookie, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, revoked: 2 });
    for (const o of others) expect((await h.call("/api/me", { cookie: o.cookie })).body.error).toBe("SESSION_REVOKED");
    expect((await h.call("/api/me", { cookie: me.cookie })).status).toBe(200);
  });

  it("leaves other users' sessions alone", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    await h.stepUp(me.cookie, "REVOKE_ALL_OTHER_SESSIONS", t.member);
    await h.call("/api/security/sessions/revoke-others", { cookie: me.cookie, method: "POST" });
    expect((await h.call("/api/me", { cookie: admin.cookie })).status).toBe(200);
  });
});

describe("POST /api/users/:id/force-logout", () => {
  it("bumps session_version and kills every session of the user", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const sessions = [await h.login(t.member.email), await h.login(t.member.email)];
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "FORCE_LOGOUT", t.admin);
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.cookie, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, revoked: 2 });
    for (const s of sessions) expect((await h.call("/api/me", { cookie: s.cookie })).body.error).toBe("SESSION_INVALIDATED");
    const user = await env.DB.prepare("SELECT session_version FROM users WHERE id = ?").bind(t.member.id).first<{ session_version: number }>();
    expect(user?.session_version).toBe(2);
    // A session created with the old version before the bump is invalid even if KV forgot it.
    for (const s of sessions) await env.SESSION_CACHE.delete(`session:${s.sessionId}`);
    expect((await h.call("/api/me", { cookie: sessions[0]?.cookie })).status).toBe(401);
  });

  it("403 for a member, 428 for an admin without step-up", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    expect((await h.call(`/api/users/${t.admin.id}/force-logout`, { cookie: member.cookie, method: "POST" })).status).toBe(403);
    const noGrant = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.cookie, method: "POST" });
    expect(noGrant.status).toBe(428);
    expect(noGrant.body).toMatchObject({ purpose: "FORCE_LOGOUT", methods: ["totp", "recovery_code"] });
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(200);
  });

  it("isolation: another tenant's user is 404 and keeps their sessions", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const victim = await h.login(other.member.email);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "FORCE_LOGOUT", t.owner);
    const res = await h.call(`/api/users/${other.member.id}/force-logout`, { cookie: owner.cookie, method: "POST" });
    expect(res.status).toBe(404);
    expect((await h.call("/api/me", { cookie: victim.cookie })).status).toBe(200);
  });
});
