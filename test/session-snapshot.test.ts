import { describe, expect, it } from "vitest";
import { parseKeySet } from "../src/lib/key-set";
import { fromBase64Url, toBase64Url } from "../src/lib/crypto";
import { sealSnapshot } from "../src/sessions/snapshot";
import { tenantEdgeKey } from "../src/edge-document/document";
import { Harness, brokenBinding, countingD1, seedTenant, withEnv } from "./helpers";
import { SNAPSHOT, browserSignIn, countingKv, env, keyOf } from "./snapshot-fixtures";

type Me = { user: { id: string; role: string; permissions: string[] }; impersonation?: unknown };

const sessionReads = (reads: string[]) => reads.filter((k) => k.startsWith("session:"));

describe("session snapshots: the edge check without a per-session read", () => {
  it("a request with a fresh snapshot makes no per-session KV read and no D1 query", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200); // warms the tenant's document
    h.clock.advanceSeconds(2); // past every in-isolate copy
    const kv = countingKv(env.SESSION_CACHE);
    const d1 = countingD1(env.DB);
    const res = await h.call("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: kv.kv, DB: d1.db }) });
    expect(res.status).toBe(200);
    expect(sessionReads(kv.reads)).toEqual([]);
    expect(kv.reads).toContain(tenantEdgeKey(t.id));
    expect(d1.count()).toBe(0);
  });

  it("a snapshot signed with a key outside the set is not trusted: the stored session state decides", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    const real = JSON.parse(new TextDecoder().decode(fromBase64Url(jar.cookies.get(SNAPSHOT)?.split(".")[1] ?? "")));
    real.state.user.role = "owner";
    const other = parseKeySet(JSON.stringify([{ id: "local1", key: keyOf("x") }]), { minBytes: 32 });
    if (!other.ok) throw new Error("bad test key");
    jar.cookies.set(SNAPSHOT, await sealSnapshot(other.set, real));
    h.clock.advanceSeconds(2);
    const kv = countingKv(env.SESSION_CACHE);
    const res = await h.call<Me>("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: kv.kv }) });
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe("member");
    expect(sessionReads(kv.reads)).toHaveLength(1);
  });

  it("a tampered snapshot (payload changed, MAC kept) is not trusted: the stored session state decides", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    const [kid, payload, mac] = (jar.cookies.get(SNAPSHOT) ?? "").split(".") as [string, string, string];
    const text = new TextDecoder().decode(fromBase64Url(payload)).replace('"role":"member"', '"role":"owner"');
    jar.cookies.set(SNAPSHOT, `${kid}.${toBase64Url(new TextEncoder().encode(text))}.${mac}`);
    const res = await h.call<Me>("/api/me", { cookie: jar.header });
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe("member");
  });

  it("a snapshot never admits without its own session's secret", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.admin);
    const member = await browserSignIn(h, t.member);
    // The admin's snapshot next to the member's session cookie: the member, nothing more.
    const mixed = member.jar.copy();
    mixed.cookies.set(SNAPSHOT, jar.cookies.get(SNAPSHOT) ?? "");
    const res = await h.call<Me>("/api/me", { cookie: mixed.header });
    expect(res.body.user.id).toBe(t.member.id);
    // The admin's snapshot with a wrong secret for the admin's session id, right after the
    // right one was accepted (this isolate remembers verified snapshots): refused.
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    const wrong = jar.copy();
    wrong.cookies.set("__Host-gatehouse_session", (jar.cookies.get("__Host-gatehouse_session") ?? "").replace(/\.(.)/, (_m, ch: string) => `.${ch === "A" ? "B" : "A"}`));
    expect((await h.call("/api/me", { cookie: wrong.header })).status).toBe(401);
  });

  it("a snapshot older than its maximum age is not used: the session's stored state is read again", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    h.clock.advanceSeconds(5 * 60 + 1);
    const kv = countingKv(env.SESSION_CACHE);
    const res = await h.call("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: kv.kv }) });
    expect(res.status).toBe(200);
    expect(sessionReads(kv.reads)).toHaveLength(1);
  });
});

describe("session snapshots: changes take effect on the next request", () => {
  it("a revocation between two requests of one session refuses the second, though its snapshot is fresh", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const victim = await browserSignIn(h, t.member);
    const other = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: victim.jar.header })).status).toBe(200);
    await h.stepUp(other.jar.header, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${victim.sessionId}/revoke`, { cookie: other.jar.header, method: "POST" })).status).toBe(200);
    const res = await h.call("/api/me", { cookie: victim.jar.header });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_REVOKED");
  });

  it("signing out, or revoking the current session, clears the snapshot cookie with the session cookie", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await browserSignIn(h, t.member);
    const out = await h.call("/api/auth/logout", { cookie: a.jar.header, method: "POST" });
    expect(a.jar.copy().take(out).cookies.has(SNAPSHOT)).toBe(false);
    const b = await browserSignIn(h, t.member);
    await h.stepUp(b.jar.header, "REVOKE_SESSION", t.member);
    const revoked = await h.call(`/api/security/sessions/${b.sessionId}/revoke`, { cookie: b.jar.header, method: "POST" });
    expect(revoked.status).toBe(200);
    expect(b.jar.copy().take(revoked).cookies.has(SNAPSHOT)).toBe(false);
  });

  it("staleness bound: a revocation recorded by another isolate refuses the snapshot within 1 second", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar, sessionId } = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    // Another isolate revoked the session: D1, its KV entry and the tenant's document say so.
    await env.DB.prepare("UPDATE user_sessions SET revoked_at = ?, revoke_reason = 'REVOKED' WHERE id = ?").bind(h.clock.ms, sessionId).run();
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    const doc = await env.SESSION_CACHE.get<{ sessions: Record<string, unknown> }>(tenantEdgeKey(t.id), "json");
    if (!doc) throw new Error("expected the tenant's document");
    doc.sessions[sessionId] = { fp: "revoked", at: h.clock.ms };
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), JSON.stringify(doc));
    h.clock.advanceSeconds(1);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(401);
  });

  it("a snapshot from before a role change is not used: the next request has the new role", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await browserSignIn(h, t.owner);
    const { jar } = await browserSignIn(h, t.member);
    expect((await h.call<Me>("/api/me", { cookie: jar.header })).body.user.role).toBe("member");
    await h.stepUp(owner.jar.header, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.jar.header, method: "PATCH", body: { role: "admin" } })).status).toBe(200);
    const res = await h.call<Me>("/api/me", { cookie: jar.header });
    expect(res.body.user.role).toBe("admin");
  });

  it("a snapshot from before a permission change is not used: the next request has the new permissions", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await browserSignIn(h, t.owner);
    const { jar } = await browserSignIn(h, t.admin);
    expect((await h.call("/api/audit-logs", { cookie: jar.header })).status).toBe(200);
    await h.stepUp(owner.jar.header, "ROLE_CHANGE", t.owner);
    const change = await h.call(`/api/users/${t.admin.id}/permissions`, { cookie: owner.jar.header, method: "PATCH", body: { grant: [], revoke: ["SETTINGS_SECURITY_VIEW"] } });
    expect(change.status).toBe(200);
    expect((await h.call("/api/audit-logs", { cookie: jar.header })).status).toBe(403);
  });

  it("a snapshot from before a force logout is not used: the next request is SESSION_INVALIDATED", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await browserSignIn(h, t.admin);
    const { jar } = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    await h.stepUp(admin.jar.header, "FORCE_LOGOUT", t.admin);
    expect((await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.jar.header, body: {} })).status).toBe(200);
    const res = await h.call("/api/me", { cookie: jar.header });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("SESSION_INVALIDATED");
  });

  it("a snapshot from before an impersonation started or ended is not used: the next request acts as the session now does", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.admin);
    const before = jar.copy();
    await h.stepUp(jar.header, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: jar.header, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
    const started = await h.call<Me>("/api/me", { cookie: before.header });
    expect(started.body.user.id).toBe(t.member.id);
    const during = before.copy().take(started); // the snapshot re-issued while impersonating
    expect(during.cookies.get(SNAPSHOT)).not.toBe(before.cookies.get(SNAPSHOT));
    await h.stepUp(during.header, "IMPERSONATION", t.admin);
    expect((await h.call("/api/impersonate/exit", { cookie: jar.header, body: {} })).status).toBe(200);
    const ended = await h.call<Me>("/api/me", { cookie: during.header });
    expect(ended.body.user.id).toBe(t.admin.id);
    expect(ended.body.impersonation).toBeUndefined();
  });

  it("a change written while KV held a stale document is not lost: every write rebuilds the tenant's document from D1", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await browserSignIn(h, t.owner);
    const { jar } = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    await h.stepUp(owner.jar.header, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.jar.header, method: "PATCH", body: { role: "admin" } })).status).toBe(200);
    // Another location's writer still sees the document from before that change...
    const doc = await env.SESSION_CACHE.get<Record<string, unknown>>(tenantEdgeKey(t.id), "json");
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), JSON.stringify({ ...doc, users: {}, sessions: {} }));
    // ...and writes its own change (the admin's permissions) on top of it.
    await h.stepUp(owner.jar.header, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.admin.id}/permissions`, { cookie: owner.jar.header, method: "PATCH", body: { grant: [], revoke: ["SETTINGS_TEAM_VIEW"] } })).status).toBe(200);
    h.clock.advanceSeconds(2);
    expect((await h.call<Me>("/api/me", { cookie: jar.header })).body.user.role).toBe("admin");
  });
});

describe("session snapshots: the tenant's edge document fails closed", () => {
  const signedInWithWarmDocument = async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar, sessionId } = await browserSignIn(h, t.member);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    h.clock.advanceSeconds(2);
    return { h, t, jar, sessionId };
  };

  it("an edge document KV cannot read answers 503 AUTH_UNAVAILABLE, never a pass", async () => {
    const { h, t, jar } = await signedInWithWarmDocument();
    // Only the document's key fails (it holds the IP rules too): the session's entry still reads.
    const reads: string[] = [];
    const failing = new Proxy(env.SESSION_CACHE, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop === "get")
          return (key: string, ...rest: unknown[]) => {
            reads.push(key);
            return key === tenantEdgeKey(t.id) ? Promise.reject(new Error("KV is down")) : value.apply(target, [key, ...rest]);
          };
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await h.call("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: failing }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
    // Refused by the snapshot check itself, not after falling back to the per-session path.
    expect(sessionReads(reads)).toEqual([]);
  });

  it("a missing edge document is rebuilt from D1, its revocations included", async () => {
    const { h, t, jar, sessionId } = await signedInWithWarmDocument();
    await env.DB.prepare("UPDATE user_sessions SET revoked_at = ?, revoke_reason = 'REVOKED' WHERE id = ?").bind(h.clock.ms, sessionId).run();
    await env.SESSION_CACHE.delete(tenantEdgeKey(t.id));
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(401);
  });

  it("a tenant with more recent changes than its document may list has its snapshots unused (the per-session path), never trusted unchecked", async () => {
    const { h, t, jar } = await signedInWithWarmDocument();
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5001)
       INSERT INTO session_state_changes (tenant_id, subject_type, subject_id, fingerprint, changed_at) SELECT ?, 'user', 'usr_bulk' || i, 'x', ? FROM n`,
    )
      .bind(t.id, h.clock.ms)
      .run();
    const other = await browserSignIn(h, t.member);
    await h.stepUp(other.jar.header, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: other.jar.header, method: "POST" })).status).toBe(200);
    h.clock.advanceSeconds(2);
    const kv = countingKv(env.SESSION_CACHE);
    expect((await h.call("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: kv.kv }) })).status).toBe(200);
    expect(sessionReads(kv.reads)).toHaveLength(1);
  });

  it("a missing edge document that D1 cannot rebuild answers 503 AUTH_UNAVAILABLE, never a pass", async () => {
    const { h, t, jar } = await signedInWithWarmDocument();
    await env.SESSION_CACHE.delete(tenantEdgeKey(t.id));
    const kv = countingKv(env.SESSION_CACHE);
    const res = await h.call("/api/me", { cookie: jar.header, env: withEnv({ DB: brokenBinding<D1Database>("D1"), SESSION_CACHE: kv.kv }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
    // Refused by the snapshot check itself, not after falling back to the per-session path.
    expect(sessionReads(kv.reads)).toEqual([]);
  });
});

describe("session snapshots: last_seen_at", () => {
  it("a client that keeps sending an old snapshot refreshes last_seen_at once per interval, not on every request", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    h.clock.advanceSeconds(121); // past the refresh interval, well within the snapshot's freshness
    const statements: number[] = [];
    for (let i = 0; i < 4; i++) {
      // The same Cookie header every time: the answers' new snapshots are never stored.
      const d1 = countingD1(env.DB);
      expect((await h.call("/api/me", { cookie: jar.header, env: withEnv({ DB: d1.db }) })).status).toBe(200);
      statements.push(d1.count());
    }
    expect(statements[0]).toBeGreaterThan(0); // the one refresh
    expect(statements.slice(1)).toEqual([0, 0, 0]);
  });
});
