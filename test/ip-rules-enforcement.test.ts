// Enforcement of IP rules on authenticated requests and at sign-in: who is blocked,
// which header counts, the denial audit, the KV fast path and failing closed.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, START_MS, brokenBinding, countingD1, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { HOME, seedRules } from "./ip-rules-fixtures";
import { tenantEdgeKey } from "../src/edge-document/document";
import { LOCAL_TENANT_EDGE_MS } from "../src/edge-document/read";
import { auditStore } from "./audit-store";

const BLOCKED = "198.51.100.7";

/** A tenant whose rules deny 198.51.100.0/24, and a signed-in member (from HOME). */
async function blockedNetworkTenant() {
  const h = new Harness();
  const t = await seedTenant("enf");
  await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
  const { cookie } = await h.session(t.member);
  return { h, t, cookie };
}

async function deniedRows(tenantId: string) {
  const rows = await auditStore.prepare("SELECT actor_user_id, outcome, target_type, target_id, ip, failure_reason, metadata FROM audit_logs WHERE tenant_id = ? AND action = 'IP_ACCESS_DENIED' ORDER BY seq")
    .bind(tenantId)
    .all<{ actor_user_id: string; outcome: string; target_type: string; target_id: string; ip: string; failure_reason: string; metadata: string }>();
  return rows.results;
}

/** A KV binding that throws for the tenant edge document only (which holds the IP rules). */
function kvDownForIpRules(): KVNamespace {
  return new Proxy(env.SESSION_CACHE, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      return (key: unknown, ...rest: unknown[]) => {
        if (typeof key === "string" && key.startsWith("tenant-edge:")) throw new Error("KV is down");
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

describe("blocked requests", () => {
  it("a request from an address a deny rule covers is refused with 403 IP_BLOCKED", async () => {
    const { h, cookie } = await blockedNetworkTenant();
    const res = await h.call("/api/me", { cookie, ip: BLOCKED });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: "IP_BLOCKED", message: expect.any(String) });
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
  });

  it("rules bind owners too", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.session(t.owner);
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(403);
  });

  it("in allow-list mode, addresses outside every allow rule are refused (IPv4-mapped IPv6 matched as IPv4)", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "allow", cidr: "203.0.113.0/24" }]);
    const { cookie } = await h.session(t.member);
    const status = async (ip: string) => (await h.call("/api/me", { cookie, ip })).status;
    expect(await status("192.0.2.1")).toBe(403);
    expect(await status("2001:db8::1")).toBe(403);
    expect(await status("::ffff:203.0.113.77")).toBe(200);
  });

  it("another tenant's rules do not apply", async () => {
    const { h } = await blockedNetworkTenant();
    const other = await seedTenant("other");
    const { cookie } = await h.session(other.member);
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(200);
  });
});

describe("only CF-Connecting-IP counts", () => {
  const spoofed = (ip: string) => ({ "x-forwarded-for": ip, "x-real-ip": ip, "true-client-ip": ip, forwarded: `for=${ip}` });

  it("forwarding headers naming an allowed address do not unblock a blocked one", async () => {
    const { h, cookie } = await blockedNetworkTenant();
    expect((await h.call("/api/me", { cookie, ip: BLOCKED, headers: spoofed(HOME) })).status).toBe(403);
  });

  it("forwarding headers naming a blocked address do not block an allowed one", async () => {
    const { h, cookie } = await blockedNetworkTenant();
    expect((await h.call("/api/me", { cookie, ip: HOME, headers: spoofed(BLOCKED) })).status).toBe(200);
  });

  async function withoutAddress(h: Harness, cookie: string) {
    const ctx = createExecutionContext();
    const res = await h.app.fetch(new Request(gatehouseUrl("/api/me"), { headers: { cookie, "x-forwarded-for": HOME } }), env, ctx);
    await waitOnExecutionContext(ctx);
    return { status: res.status, body: (await res.json()) as { error?: string } };
  }

  it("a request without CF-Connecting-IP is refused when the tenant has allow rules (fail closed)", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "allow", cidr: "203.0.113.0/24" }]);
    const { cookie } = await h.session(t.member);
    const res = await withoutAddress(h, cookie);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("IP_BLOCKED");
  });

  it("a request without CF-Connecting-IP is allowed when the tenant has no rules", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    const { cookie } = await h.session(t.member);
    expect((await withoutAddress(h, cookie)).status).toBe(200);
  });
});

describe("audit of blocked requests: IP_ACCESS_DENIED (FAIL), deduplicated per tenant, address and minute", () => {
  it("repeats within the minute write rows only at the 1st, 2nd, 4th, ...; a new address or a new minute counts afresh", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    for (let i = 0; i < 3; i++) await h.call("/api/me", { cookie, ip: BLOCKED });
    expect(await deniedRows(t.id)).toHaveLength(2);
    await h.call("/api/me", { cookie, ip: "198.51.100.8" });
    expect(await deniedRows(t.id)).toHaveLength(3);
    h.clock.advanceSeconds(60);
    await h.call("/api/me", { cookie, ip: BLOCKED });
    const rows = await deniedRows(t.id);
    expect(rows.map((r) => JSON.parse(r.metadata ?? "{}").count)).toEqual([1, 2, 1, 1]);
  });

  it("parallel blocked requests are each counted once: rows at the doublings only", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call("/api/me", { cookie, ip: BLOCKED })));
    expect(results.every((r) => r.status === 403)).toBe(true);
    expect((await deniedRows(t.id)).map((r) => JSON.parse(r.metadata ?? "{}").count).sort()).toEqual([1, 2, 4, 8]);
  });

  it("the row names the user, the address and the reason", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    await h.call("/api/me", { cookie, ip: BLOCKED });
    const [row] = await deniedRows(t.id);
    expect(row).toMatchObject({ actor_user_id: t.member.id, outcome: "FAIL", target_type: "ip_address", target_id: BLOCKED, ip: BLOCKED, failure_reason: "DENY_RULE" });
    expect(JSON.parse(row?.metadata ?? "{}")).toMatchObject({ stage: "request", path: "/_gatehouse/api/me" });
  });
});

describe("sign-in from a blocked address", () => {
  it("is refused with 403 IP_BLOCKED and creates no session", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    for (const user of [t.member, t.admin]) {
      // The admin has TOTP: the address is refused before the code is even asked for.
      const res = await h.call("/api/auth/login", { ip: BLOCKED, body: { email: user.email, password: PASSWORD } });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe("IP_BLOCKED");
      expect(res.cookie).toBeUndefined();
    }
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(sessions?.n).toBe(0);
  });

  it("answers the same for a right and a wrong password (no password oracle for blocked addresses)", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const right = await h.call("/api/auth/login", { ip: BLOCKED, body: { email: t.member.email, password: PASSWORD } });
    const wrong = await h.call("/api/auth/login", { ip: BLOCKED, body: { email: t.member.email, password: "not-it" } });
    expect(right.status).toBe(403);
    expect(wrong.body).toEqual(right.body);
  });

  it("is audited as LOGIN_FAILED (IP_BLOCKED) and IP_ACCESS_DENIED in the user's tenant", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    await h.call("/api/auth/login", { ip: BLOCKED, body: { email: t.member.email, password: PASSWORD } });
    const rows = await auditStore.prepare("SELECT action, outcome, actor_user_id, failure_reason FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(t.id).all();
    expect(rows.results).toEqual(
      expect.arrayContaining([
        { action: "IP_ACCESS_DENIED", outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "DENY_RULE" },
        { action: "LOGIN_FAILED", outcome: "FAIL", actor_user_id: t.member.id, failure_reason: "IP_BLOCKED" },
      ]),
    );
  });
});

describe("the KV fast path", () => {
  it("a hot request needs zero D1 queries for the session and the IP check", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [
      { action: "allow", cidr: "203.0.113.0/24" },
      { action: "deny", cidr: "203.0.113.99/32" },
    ]);
    const { cookie } = await h.signIn(t.member); // sign-in already loads (and caches) the rule set
    const counter = countingD1(env.DB);
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: counter.db }) });
    expect(res.status).toBe(200);
    expect(counter.count()).toBe(0);
  });

  it("the check endpoint decides from the warm cache: no D1 query, one only to describe a matched rule", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.signIn(t.admin);
    const unmatched = countingD1(env.DB);
    const res = await h.call("/api/security/ip-rules/check?ip=192.0.2.1", { cookie, env: withEnv({ DB: unmatched.db }) });
    expect(res.body).toMatchObject({ allowed: true, matchedRule: null });
    expect(unmatched.count()).toBe(0);
    const matched = countingD1(env.DB);
    const blocked = await h.call(`/api/security/ip-rules/check?ip=${BLOCKED}`, { cookie, env: withEnv({ DB: matched.db }) });
    expect(blocked.body).toMatchObject({ allowed: false, matchedRule: { cidr: "198.51.100.0/24", createdAt: expect.any(String) } });
    expect(matched.count()).toBe(1);
  });

  it("a rule added through another isolate is enforced here within LOCAL_TENANT_EDGE_MS (1 s), not later", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    const { cookie } = await h.session(t.member);
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(200); // this isolate now holds the empty set
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]); // D1 and KV change; this isolate's copy does not
    h.clock.ms += LOCAL_TENANT_EDGE_MS - 1;
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(200); // within the bound: the copy
    h.clock.ms += 1;
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(403); // at the bound: read again
  });

  it("a cold cache is filled from D1 once", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    await env.SESSION_CACHE.delete(tenantEdgeKey(t.id));
    h.clock.advanceSeconds(1); // step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    const cold = countingD1(env.DB);
    expect((await h.call("/api/me", { cookie, env: withEnv({ DB: cold.db }) })).status).toBe(200);
    // The tenant's edge document, in one batch: the rules with the policy, the recent state changes, the recent revocations, the last cache rebuild.
    expect(cold.count()).toBe(4);
    const warm = countingD1(env.DB);
    expect((await h.call("/api/me", { cookie, env: withEnv({ DB: warm.db }) })).status).toBe(200);
    expect(warm.count()).toBe(0);
  });

  it("a document cached in another format (an older deploy) is ignored and rebuilt from D1", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    const emptyRules = { format: 0, count: 0, allowListUntil: 0, anyRuleUntil: 0, ipv4: { prefixes: [], networks: {} }, ipv6: { prefixes: [], networks: {} } };
    const stale = { format: 0, tenantId: t.id, rules: emptyRules, policy: { requireTwoFactor: false }, overflowUntil: 0, users: {}, sessions: {} };
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), JSON.stringify(stale));
    h.clock.advanceSeconds(1); // step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(403);
  });

  it("a change through the API is enforced on the next request (KV rewritten after D1)", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    const member = await h.session(t.member);
    expect((await h.call("/api/me", { cookie: member.cookie, ip: BLOCKED })).status).toBe(200); // cache now warm, empty
    const { cookie } = await h.session(t.admin);
    await h.stepUp(cookie, "IP_RULE_CHANGE", t.admin);
    const created = await h.call<{ rule: { id: string } }>("/api/security/ip-rules", { cookie, body: { action: "deny", cidr: "198.51.100.0/24" } });
    expect(created.status).toBe(201);
    expect((await h.call("/api/me", { cookie: member.cookie, ip: BLOCKED })).status).toBe(403);
    await h.call(`/api/security/ip-rules/${created.body.rule.id}`, { cookie, method: "DELETE" });
    expect((await h.call("/api/me", { cookie: member.cookie, ip: BLOCKED })).status).toBe(200);
  });

  it("a cached rule stops counting at its expiry, with no cache refresh", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24", expiresAt: START_MS + 90_000 }]);
    const { cookie } = await h.session(t.member);
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(403);
    h.clock.advanceSeconds(90);
    expect((await h.call("/api/me", { cookie, ip: BLOCKED })).status).toBe(200);
    const cached = await env.SESSION_CACHE.get<{ rules: { count: number } }>(tenantEdgeKey(t.id), "json");
    expect(cached?.rules.count).toBe(1); // the entry still holds the rule: expiry was decided at check time
  });
});

describe("fail closed", () => {
  it("KV throwing while reading the rule set → 503 AUTH_UNAVAILABLE", async () => {
    const { h, cookie } = await blockedNetworkTenant();
    h.clock.advanceSeconds(1); // step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    const res = await h.call("/api/me", { cookie, env: withEnv({ SESSION_CACHE: kvDownForIpRules() }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });

  it("KV missing the rule set and D1 throwing → 503 AUTH_UNAVAILABLE", async () => {
    const { h, t, cookie } = await blockedNetworkTenant();
    await env.SESSION_CACHE.delete(tenantEdgeKey(t.id));
    h.clock.advanceSeconds(1); // step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: brokenBinding<D1Database>("D1") }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });

  it("sign-in while the rule set cannot be read → 503 and no session", async () => {
    const h = new Harness();
    const t = await seedTenant("enf");
    const res = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD }, env: withEnv({ SESSION_CACHE: kvDownForIpRules() }) });
    expect(res.status).toBe(503);
    expect(res.cookie).toBeUndefined();
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
    expect(sessions?.n).toBe(0);
  });
});
