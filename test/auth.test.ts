import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";

type MeBody = { user: { id: string; email: string; role: string; permissions: string[]; tenantId: string }; sessionId: string };

describe("sign-in", () => {
  it("signs in with the right password and sets a __Host- session cookie", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call<MeBody>("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: t.admin.id, role: "admin", tenantId: t.id });
    expect(res.body.user.permissions).toContain("SETTINGS_SECURITY_EDIT");
    expect(res.cookie).toMatch(/^__Host-gatehouse_session=[a-z0-9]+\.[A-Za-z0-9_-]{43};/);
    expect(res.cookie).toMatch(/HttpOnly/);
    expect(res.cookie).toMatch(/Secure/);
    expect(res.cookie).toMatch(/SameSite=Lax/);
    expect(res.cookie).toMatch(/Path=\//);
  });

  it("answers the same 401 for a wrong password and an unknown email", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const wrong = await h.call("/api/auth/login", { body: { email: t.member.email, password: "nope" } });
    const unknown = await h.call("/api/auth/login", { body: { email: "ghost@nowhere.test", password: "nope" } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error).toBe("INVALID_CREDENTIALS");
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

  it("GET /api/me answers with the signed-in user", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const me = await h.call<MeBody>("/api/me", { cookie });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: { id: t.member.id, tenantId: t.id, email: t.member.email, displayName: expect.any(String), role: "member", permissions: [] },
      sessionId,
    });
  });
});
