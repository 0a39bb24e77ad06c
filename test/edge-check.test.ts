import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, brokenBinding, countingD1, d1WithTableGone, seedTenant, withEnv } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";

describe("the per-request check at the edge", () => {
  it("makes zero D1 queries on a hot request (KV warm)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const counter = countingD1(env.DB);
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: counter.db }) });
    expect(res.status).toBe(200);
    expect(counter.count()).toBe(0);
  });

  it("reads D1 on a KV miss, then fills KV so the next request needs none", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    h.clock.advanceSeconds(2); // past the in-isolate copy's staleness bound
    const first = countingD1(env.DB);
    expect((await h.call("/api/me", { cookie, env: withEnv({ DB: first.db }) })).status).toBe(200);
    expect(first.count()).toBe(1);
    const second = countingD1(env.DB);
    expect((await h.call("/api/me", { cookie, env: withEnv({ DB: second.db }) })).status).toBe(200);
    expect(second.count()).toBe(0);
  });

  it("fails closed with 503 AUTH_UNAVAILABLE when KV throws", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    h.clock.advanceSeconds(2); // past the in-isolate copy's staleness bound
    const res = await h.call("/api/me", { cookie, env: withEnv({ SESSION_CACHE: brokenBinding<KVNamespace>("KV") }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });

  it("fails closed with 503 AUTH_UNAVAILABLE when KV misses and D1 throws", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    h.clock.advanceSeconds(2);
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: brokenBinding<D1Database>("D1") }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });

  it("rejects a cookie whose secret does not match the stored hash", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const forged = cookie.replace(/\.(.)/, (_m, ch: string) => `.${ch === "A" ? "B" : "A"}`);
    const res = await h.call("/api/me", { cookie: forged });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("UNAUTHORIZED");
  });

  it("answers SESSION_REVOKED once the idle timeout passes", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    h.clock.advanceSeconds(60 * 60 + 1);
    const res = await h.call("/api/me", { cookie });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_REVOKED");
  });

  it("answers SESSION_REVOKED after the absolute timeout even for an active session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    for (let elapsed = 0; elapsed < 24 * 60 * 60; elapsed += 50 * 60) {
      h.clock.advanceSeconds(50 * 60);
      const res = await h.call("/api/me", { cookie });
      if (elapsed + 50 * 60 < 24 * 60 * 60) expect(res.status).toBe(200);
      else expect(res.body.error).toBe("SESSION_REVOKED");
    }
  });

  it("refreshes last_seen_at at most every 2 minutes, after the response", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    const lastSeen = async () =>
      (await env.DB.prepare("SELECT last_seen_at FROM user_sessions WHERE id = ?").bind(sessionId).first<{ last_seen_at: number }>())?.last_seen_at;
    const createdAt = await lastSeen();
    h.clock.advanceSeconds(60);
    await h.call("/api/me", { cookie });
    expect(await lastSeen()).toBe(createdAt);
    h.clock.advanceSeconds(61);
    await h.call("/api/me", { cookie });
    expect(await lastSeen()).toBe(h.clock.ms);
  });

  it("only a request that passes every check refreshes last_seen_at: one refused by an IP deny rule does not", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const lastSeen = async () =>
      (await env.DB.prepare("SELECT last_seen_at FROM user_sessions WHERE id = ?").bind(sessionId).first<{ last_seen_at: number }>())?.last_seen_at;
    const signedInAt = await lastSeen();
    h.clock.advanceSeconds(3 * 60); // past the 2-minute refresh interval
    expect((await h.call("/api/me", { cookie, ip: "198.51.100.7" })).status).toBe(403);
    expect(await lastSeen()).toBe(signedInAt);
    expect((await h.call("/api/audit-logs", { cookie })).status).toBe(403); // refused later, by permission
    expect(await lastSeen()).toBe(signedInAt);
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
    expect(await lastSeen()).toBe(h.clock.ms);
  });

  it("keeps a session alive across the idle limit while it is used", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    for (let i = 0; i < 4; i++) {
      h.clock.advanceSeconds(40 * 60);
      expect((await h.call("/api/me", { cookie })).status).toBe(200);
    }
  });

  it("answers SESSION_INVALIDATED when the user's session_version moved on", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    // A version bump that only D1 knows about, as a partial write would leave it.
    await env.DB.prepare("UPDATE users SET session_version = session_version + 1 WHERE id = ?").bind(t.member.id).run();
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    h.clock.advanceSeconds(2);
    const res = await h.call("/api/me", { cookie });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_INVALIDATED");
  });

  it("staleness bound: a revocation written by another isolate is seen within 1 second", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
    // Another isolate revoked the session: D1 and KV say so, this isolate's copy does not yet.
    await env.DB.prepare("UPDATE user_sessions SET revoked_at = ?, revoke_reason = 'REVOKED' WHERE id = ?").bind(h.clock.ms, sessionId).run();
    const entry = await env.SESSION_CACHE.get<{ session: { revokedAt: number | null } }>(`session:${sessionId}`, "json");
    if (!entry) throw new Error("expected a KV entry");
    entry.session.revokedAt = h.clock.ms;
    await env.SESSION_CACHE.put(`session:${sessionId}`, JSON.stringify(entry));
    h.clock.advanceSeconds(1);
    const res = await h.call("/api/me", { cookie });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_REVOKED");
  });

  it("a hot request in a busy isolate makes no KV read either (in-isolate copy)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await h.call("/api/me", { cookie });
    let sessionReads = 0;
    const kv = new Proxy(env.SESSION_CACHE, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "get") {
          return (key: string, ...rest: unknown[]) => {
            if (key === `session:${sessionId}`) sessionReads++;
            return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    expect((await h.call("/api/me", { cookie, env: withEnv({ SESSION_CACHE: kv }) })).status).toBe(200);
    expect(sessionReads).toBe(0);
  });

  it("a last_seen refresh racing a revocation never resurrects the session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    h.clock.advanceSeconds(121); // so the logout request itself schedules a last_seen refresh
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    expect((await h.call("/api/me", { cookie })).body.error).toBe("SESSION_REVOKED");
    h.clock.advanceSeconds(2); // past the in-isolate copy: KV must say revoked too
    expect((await h.call("/api/me", { cookie })).body.error).toBe("SESSION_REVOKED");
  });

  it("fail closed: a step-up guarded route whose D1 re-check errors answers 503, never runs", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "FORCE_LOGOUT", t.admin);
    const member = await h.login(t.member.email);
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.cookie, method: "POST", env: withEnv({ DB: brokenBinding<D1Database>("D1") }) });
    expect(res.status).toBe(503);
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(200);
  });
  it("fail closed: a step-up grant that cannot be read or claimed is 503, never a pass or a 500", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "FORCE_LOGOUT", t.admin);
    const member = await h.login(t.member.email);
    // Only the step-up grants' table is unreadable; the session re-check still works.
    const grantsDown = d1WithTableGone(env.DB, "stepup_challenges");
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.cookie, method: "POST", env: withEnv({ DB: grantsDown }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(200);
  });
});
