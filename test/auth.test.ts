import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, cookieHeader, kvRefusingWrites, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type MeBody = { user: { id: string; email: string; role: string; permissions: string[]; tenantId: string; totpEnabled: boolean }; sessionId: string };

describe("sign-in", () => {
  it("signs in with the right password and sets a __Host- session cookie", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call<MeBody>("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: t.member.id, role: "member", tenantId: t.id, permissions: [] });
    // The session cookie's own attributes (the answer sets the snapshot and device cookies too, with theirs).
    const session = res.headers.getSetCookie().find((cookie) => cookie.startsWith("__Host-gatehouse_session="));
    expect(session).toMatch(/^__Host-gatehouse_session=[a-z0-9]+\.[A-Za-z0-9_-]{43};/);
    expect(session).toMatch(/; HttpOnly(;|$)/);
    expect(session).toMatch(/; Secure(;|$)/);
    expect(session).toMatch(/; SameSite=Lax(;|$)/);
    expect(session).toMatch(/; Path=\/(;|$)/);
  });

  it("matches emails case-insensitively", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call("/api/auth/login", { body: { email: t.member.email.toUpperCase(), password: PASSWORD } });
    expect(res.status).toBe(200);
  });

  it("answers the same 401 for a wrong password and an unknown email (no enumeration)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const wrong = await h.call("/api/auth/login", { body: { email: t.member.email, password: "nope" } });
    const unknown = await h.call("/api/auth/login", { body: { email: "ghost@nowhere.test", password: "nope" } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error).toBe("INVALID_CREDENTIALS");
  });

  it("gives a new session id at every sign-in", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.login(t.member.email);
    const b = await h.login(t.member.email);
    expect(a.sessionId).not.toBe(b.sessionId);
  });

  it("stores only the hash of the session secret", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const secret = cookie.split(".")[1] as string;
    const row = await env.DB.prepare("SELECT * FROM user_sessions WHERE id = ?").bind(sessionId).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("records ip from CF-Connecting-IP, and the user agent, on the session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email, PASSWORD, {}, { ip: "198.51.100.7", headers: { "x-forwarded-for": "6.6.6.6" } });
    const row = await env.DB.prepare("SELECT ip, user_agent FROM user_sessions WHERE id = ?").bind(sessionId).first<{ ip: string; user_agent: string }>();
    expect(row?.ip).toBe("198.51.100.7");
    expect(row?.user_agent).toContain("Chrome");
  });

  it("audits successful and failed sign-ins in the user's tenant", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.call("/api/auth/login", { body: { email: t.member.email, password: "wrong" } });
    await h.login(t.member.email);
    const rows = await auditStore.prepare("SELECT action, outcome, failure_reason FROM audit_logs WHERE tenant_id = ? ORDER BY seq")
      .bind(t.id)
      .all<{ action: string; outcome: string; failure_reason: string | null }>();
    expect(rows.results).toEqual([
      { action: "LOGIN_FAILED", outcome: "FAIL", failure_reason: "INVALID_PASSWORD" },
      { action: "LOGIN_SUCCEEDED", outcome: "SUCCESS", failure_reason: null },
      { action: "SESSION_CREATED", outcome: "SUCCESS", failure_reason: null },
    ]);
  });
});

describe("sign-in fails closed", () => {
  it("a sign-in that committed answers its success even when the session cache cannot be written: the cookie works, read from D1", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call<{ user: { id: string } }>("/api/auth/login", { body: { email: t.member.email, password: PASSWORD }, env: withEnv({ SESSION_CACHE: kvRefusingWrites() }) });
    expect(res.status).toBe(200);
    expect(res.cookie ?? "").toContain("gatehouse_session");
    const me = await h.call<{ user: { id: string } }>("/api/me", { cookie: cookieHeader(res.cookie ?? "") });
    expect([me.status, me.body.user.id]).toEqual([200, t.member.id]);
  });
});

describe("sign-in throttling", () => {
  it("answers 429 TOO_MANY_ATTEMPTS with retryAfterSeconds after 10 failures, even for the right password", async () => {
    const h = new Harness();
    const t = await seedTenant();
    for (let i = 0; i < 10; i++) {
      const res = await h.call("/api/auth/login", { body: { email: t.member.email, password: `wrong-${i}` } });
      expect(res.status).toBe(401);
    }
    const locked = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe("TOO_MANY_ATTEMPTS");
    expect(locked.body.retryAfterSeconds).toBeGreaterThan(0);
    expect(locked.headers.get("retry-after")).toBe(String(locked.body.retryAfterSeconds));

    h.clock.advanceSeconds(15 * 60 + 1);
    const later = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect(later.status).toBe(200);
  });

  it("cannot be outrun by parallel guesses (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => h.call("/api/auth/login", { body: { email: t.member.email, password: `wrong-${i}` } })),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
  });
});

describe("sign-out and /api/me", () => {
  it("GET /api/me answers with the signed-in user and the name of their organisation", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const me = await h.call<MeBody>("/api/me", { cookie });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: { id: t.member.id, tenantId: t.id, email: t.member.email, displayName: expect.any(String), role: "member", permissions: [], totpEnabled: false, passkeyCount: 0 },
      tenant: { name: "t" },
      sessionId,
    });
  });

  it("logout revokes the session (reason LOGOUT) and clears the cookie", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const out = await h.call("/api/auth/logout", { cookie, method: "POST" });
    expect(out.status).toBe(200);
    expect(out.cookie).toMatch(/Max-Age=0/);
    const row = await env.DB.prepare("SELECT revoke_reason FROM user_sessions WHERE id = ?").bind(sessionId).first<{ revoke_reason: string }>();
    expect(row?.revoke_reason).toBe("LOGOUT");
    const after = await h.call("/api/me", { cookie });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe("SESSION_REVOKED");
  });

  it("GET /api/health answers without any middleware", async () => {
    const h = new Harness();
    const res = await h.call("/api/health", { headers: { origin: "https://evil.test" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });
});

describe("device labels", () => {
  it("names unknown agents 'Unknown device' rather than an empty string", async () => {
    const { deviceLabel } = await import("../src/lib/request-meta");
    expect(deviceLabel("curl/8.5.0")).toBe("Unknown device");
    expect(deviceLabel(null)).toBe("Unknown device");
    expect(deviceLabel("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1")).toBe("Safari on iOS");
  });
});
