/**
 * Workers KV takes one write per key per second and refuses the next (429); miniflare does
 * not, so these tests put a KV in front of the real one that does, on the harness's clock.
 * The tenant's edge document is written by the tenant's object alone, at most once a second
 * (src/tenant-object/edge-writer.ts; its own tests: test/edge-writer.test.ts): a request
 * writes the session entries of its change and tells the object.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantEdgeKey } from "../src/edge-document/document";
import { Harness, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";

type Write = { key: string; atMs: number };

/** KV as production enforces it: a second write (put or delete) of a key within a second is refused. */
function limitedKv(now: () => number, refusePutsOf?: string) {
  const writes: Write[] = [];
  const last = new Map<string, number>();
  const kv = new Proxy(env.SESSION_CACHE, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== "put" && prop !== "delete") return typeof value === "function" ? value.bind(target) : value;
      return async (key: string, ...rest: unknown[]) => {
        const at = now();
        const previous = last.get(key);
        if ((prop === "put" && key === refusePutsOf) || (previous !== undefined && at - previous < 1000)) throw new Error(`KV PUT failed: 429 Too Many Requests (${key})`);
        last.set(key, at);
        writes.push({ key, atMs: at });
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, [key, ...rest]);
      };
    },
  });
  return { kv, writes, markWritten: (key: string) => last.set(key, now()) };
}

/** Every key the request wrote was written once; the tenant's document not at all (its object writes it). */
function expectEachKeyWrittenOnce(writes: Write[], tenantId: string) {
  const keys = writes.map((w) => w.key);
  expect(keys.length).toBeGreaterThan(0);
  expect(keys).not.toContain(tenantEdgeKey(tenantId));
  expect(new Set(keys).size).toBe(keys.length);
}

/** A tenant with a signed-in member and an owner stepped up for `purpose`, 2 s later (past every in-isolate copy). */
async function memberAndSteppedUpOwner(purpose: "FORCE_LOGOUT" | "IP_RULE_CHANGE") {
  const h = new Harness();
  const t = await seedTenant();
  const member = await h.session(t.member);
  const owner = await h.session(t.owner);
  await h.stepUp(owner.cookie, purpose, t.owner);
  h.clock.advanceSeconds(2);
  return { h, t, member, owner, limited: limitedKv(h.clock.now) };
}

describe("KV's one write per key per second", () => {
  it("no request writes one KV key twice: disabling a member whom an admin is impersonating writes each session entry once and leaves the tenant's document to the tenant's object", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
    await h.session(t.member);
    const owner = await h.session(t.owner);
    h.clock.advanceSeconds(2);
    await h.stepUp(owner.cookie, "USER_ACCESS_CHANGE", t.owner);
    const limited = limitedKv(h.clock.now);
    expect((await h.call(`/api/users/${t.member.id}/disable`, { cookie: owner.cookie, body: {}, env: withEnv({ SESSION_CACHE: limited.kv }) })).status).toBe(200);
    expectEachKeyWrittenOnce(limited.writes, t.id);
    // The admin's impersonation ended with the disable, at once.
    expect((await h.call<{ user: { id: string } }>("/api/me", { cookie: admin.cookie })).body.user.id).toBe(t.admin.id);
  });

  it("no request writes one KV key twice: the operator disabling a tenant with several signed-in members writes each key once and never the tenant's document", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const cookies = [await h.session(t.owner), await h.session(t.admin), await h.session(t.member)].map((s) => s.cookie);
    h.clock.advanceSeconds(2);
    const token = "operator-token-for-tests-0123456789abcdef";
    const limited = limitedKv(h.clock.now);
    const res = await h.call(`/api/operator/tenants/${t.id}/disable`, { env: withEnv({ OPERATOR_TOKEN: token, SESSION_CACHE: limited.kv }), headers: { authorization: `Bearer ${token}` }, body: {} });
    expect(res.status).toBe(200);
    expectEachKeyWrittenOnce(limited.writes, t.id);
    for (const cookie of cookies) expect((await h.call("/api/me", { cookie })).status).toBe(401);
  });

  it("a change made while KV refuses the tenant's document is saved and enforced: the request does not wait for KV", async () => {
    const { h, t, member, owner } = await memberAndSteppedUpOwner("FORCE_LOGOUT");
    const limited = limitedKv(h.clock.now, tenantEdgeKey(t.id));
    const before = h.clock.ms;
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: owner.cookie, body: {}, env: withEnv({ SESSION_CACHE: limited.kv }) });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty("propagation");
    expect(h.clock.ms).toBe(before); // no wait
    const stored = await env.SESSION_CACHE.get<{ sessions: Record<string, { fp: string }> }>(tenantEdgeKey(t.id), "json");
    expect(stored?.sessions[member.sessionId]?.fp).toBe("revoked");
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(401);
  });

  it("a change whose session entry KV refuses (written within the second by a refill) still reaches the tenant's document, and answers its propagation delayed", async () => {
    const { h, t, member, owner, limited } = await memberAndSteppedUpOwner("FORCE_LOGOUT");
    limited.markWritten(`session:${member.sessionId}`); // a refill of the member's entry, just now
    const res = await h.call<{ propagation?: { status: string } }>(`/api/users/${t.member.id}/force-logout`, { cookie: owner.cookie, body: {}, env: withEnv({ SESSION_CACHE: limited.kv }) });
    expect(res.status).toBe(200);
    expect(res.body.propagation?.status).toBe("delayed");
    const stored = await env.SESSION_CACHE.get<{ sessions: Record<string, { fp: string }> }>(tenantEdgeKey(t.id), "json");
    expect(stored?.sessions[member.sessionId]?.fp).toBe("revoked");
  });

  it("an IP rule added in the same second as a sign-out is saved and enforced: neither waits for KV nor answers 503", async () => {
    const { h, t, member, owner, limited } = await memberAndSteppedUpOwner("IP_RULE_CHANGE");
    const limitedEnv = withEnv({ SESSION_CACHE: limited.kv });
    expect((await h.call("/api/auth/logout", { cookie: member.cookie, body: {}, env: limitedEnv })).status).toBe(200);
    const res = await h.call("/api/security/ip-rules", { cookie: owner.cookie, env: limitedEnv, body: { action: "deny", cidr: "198.51.100.0/24", description: "test" } });
    expect(res.status).toBe(201);
    const stored = await env.SESSION_CACHE.get<{ rules: { count: number } }>(tenantEdgeKey(t.id), "json");
    expect(stored?.rules.count).toBe(1);
    expect((await h.call("/api/me", { cookie: owner.cookie, ip: "198.51.100.7" })).status).toBe(403);
  });

  it("a change whose tenant object cannot be told is saved, enforced at this isolate at once, and answers that its propagation is delayed", async () => {
    const { h, t, member, owner } = await memberAndSteppedUpOwner("FORCE_LOGOUT");
    const res = await h.call<{ propagation?: { status: string } }>(`/api/users/${t.member.id}/force-logout`, { cookie: owner.cookie, body: {}, env: withEnv({ TENANT: tenantObjectsUnreachable() }) });
    expect(res.status).toBe(200);
    expect(res.body.propagation?.status).toBe("delayed");
    expect((await h.call("/api/me", { cookie: member.cookie })).status).toBe(401);
  });
});
