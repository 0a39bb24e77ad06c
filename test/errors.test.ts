import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";

describe("bad input gets one JSON error shape and changes nothing", () => {
  it("400 VALIDATION_FAILED with issues for a bad body", async () => {
    const h = new Harness();
    const res = await h.call<{ error: string; message: string; issues: { path: string }[] }>("/api/auth/login", { body: { email: "not-an-email", password: "" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("VALIDATION_FAILED");
    expect(res.body.message).toMatch(/email/);
    expect(res.body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(["email", "password"]));
  });

  it("400 for unknown body fields (strict schemas)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, isAdmin: true } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("VALIDATION_FAILED");
  });

  it("400 MALFORMED_JSON for a body that is not JSON", async () => {
    const h = new Harness();
    const res = await h.call("/api/auth/login", { method: "POST", rawBody: "{nope", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("MALFORMED_JSON");
  });

  it("413 PAYLOAD_TOO_LARGE for a body over the limit", async () => {
    const h = new Harness();
    const res = await h.call("/api/auth/login", {
      method: "POST",
      rawBody: JSON.stringify({ email: "a@b.test", password: "x".repeat(70_000) }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe("PAYLOAD_TOO_LARGE");
  });

  it("404 NOT_FOUND in JSON for an unknown route (signed in)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const res = await h.call("/api/nope", { cookie });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("NOT_FOUND");
  });

  it("401 UNAUTHORIZED without a cookie, and for a malformed or forged one", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    for (const cookie of [undefined, "__Host-gatehouse_session=garbage", `__Host-gatehouse_session=${sessionId}.${"A".repeat(43)}`]) {
      const res = await h.call("/api/me", cookie ? { cookie } : {});
      expect(res.status).toBe(401);
      expect(res.body.error).toBe("UNAUTHORIZED");
    }
  });

  it("403 CSRF for a state-changing request from another site, and nothing changes", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const cross = await h.call("/api/auth/logout", { cookie, method: "POST", headers: { origin: "https://evil.test", "sec-fetch-site": "cross-site" } });
    expect(cross.status).toBe(403);
    expect(cross.body.error).toBe("CSRF");
    const originOnly = await h.call("/api/auth/logout", { cookie, method: "POST", headers: { origin: "https://evil.test" } });
    expect(originOnly.status).toBe(403);
    const row = await env.DB.prepare("SELECT revoked_at FROM user_sessions WHERE id = ?").bind(sessionId).first<{ revoked_at: number | null }>();
    expect(row?.revoked_at).toBeNull();
    const same = await h.call("/api/auth/logout", { cookie, method: "POST", headers: { origin: "https://gatehouse.test", "sec-fetch-site": "same-origin" } });
    expect(same.status).toBe(200);
  });

  it("Origin: null passes only when the browser's Sec-Fetch-Site says same-origin (a no-referrer page's own form)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const refused: Record<string, string>[] = [{ origin: "null" }, { origin: "null", "sec-fetch-site": "cross-site" }, { origin: "null", "sec-fetch-site": "same-site" }];
    for (const headers of refused) {
      const res = await h.call("/api/auth/logout", { cookie, method: "POST", headers });
      expect([res.status, res.body.error], JSON.stringify(headers)).toEqual([403, "CSRF"]);
    }
    const own = await h.call("/api/auth/logout", { cookie, method: "POST", headers: { origin: "null", "sec-fetch-site": "same-origin" } });
    expect(own.status).toBe(200);
  });

  it("500 INTERNAL_ERROR leaks nothing", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const broken = { ...env, DB: { prepare: () => { throw new Error("secret detail: table x"); } } as unknown as D1Database };
    // Sessions list reads D1 after the (KV-only) edge check: the DB error surfaces as a 500.
    const res = await h.call("/api/security/sessions", { cookie, env: broken });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: "INTERNAL_ERROR", message: "Something went wrong" });
  });

  it("API responses carry no-store and anti-framing, anti-sniffing headers", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const res = await h.call("/api/me", { cookie });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});
