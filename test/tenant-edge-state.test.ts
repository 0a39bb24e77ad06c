// The tenant's edge document (src/edge-document/, docs/consistency.md): the IP rules, the policy and the
// session-state entries under one KV key, read once per tenant per isolate-second, built
// only from D1, rebuilt when what KV holds cannot be used.
import { beforeAll, describe, expect, it } from "vitest";
import { compileRuleSet } from "../src/ip-rules/ruleset";
import { REVOKED_FINGERPRINT, type TenantEdgeState, tenantEdgeKey } from "../src/edge-document/document";
import { sessionFingerprint, userFingerprint } from "../src/edge-document/staleness";
import type { AuthSession, AuthUser } from "../src/env";
import { fakeOrigin, gatewayEnv, loadStepUpKeys } from "./gateway-step-up-fixtures";
import { Harness, type SeededTenant, brokenBinding, seedTenant, withEnv } from "./helpers";
import { HOME, seedRules } from "./ip-rules-fixtures";
import { browserSignIn, countingKv, env } from "./snapshot-fixtures";

const BLOCKED = "198.51.100.7";
const DENY_BLOCKED = { action: "deny" as const, cidr: "198.51.100.0/24" };

beforeAll(loadStepUpKeys);

const storedDoc = (tenantId: string) => env.SESSION_CACHE.get<TenantEdgeState>(tenantEdgeKey(tenantId), "json");

/** Revoked by another isolate: D1 and the session's KV entry say so, the edge document does not (yet). */
async function revokedBehindTheDocument(h: Harness, sessionId: string) {
  await env.DB.prepare("UPDATE user_sessions SET revoked_at = ?, revoke_reason = 'REVOKED' WHERE id = ?").bind(h.clock.ms, sessionId).run();
  await env.SESSION_CACHE.delete(`session:${sessionId}`);
}

/** A tenant with a deny rule and two signed-in browsers of its member, the edge document warm. */
async function tenantWithRuleAndTwoBrowsers() {
  const h = new Harness();
  const t = await seedTenant("edge");
  await seedRules(t.id, [DENY_BLOCKED]);
  const first = await browserSignIn(h, t.member);
  const second = await browserSignIn(h, t.member);
  expect((await h.call("/api/me", { cookie: first.jar.header })).status).toBe(200);
  return { h, t, first, second };
}

/** A well-formed document that lists nothing: no rules, no entries. */
const emptyDoc = (tenantId: string, nowMs: number) => ({
  format: 1,
  tenantId,
  rules: compileRuleSet([], nowMs),
  policy: { requireTwoFactor: false },
  overflowUntil: 0,
  cacheRebuiltAt: 0,
  users: {} as Record<string, unknown>,
  sessions: {},
});

describe("one KV read per tenant per isolate-second", () => {
  it("a hot GET /api/me whose in-isolate copy is stale reads one KV key: the tenant's edge document", async () => {
    const { h, t, first } = await tenantWithRuleAndTwoBrowsers();
    h.clock.advanceSeconds(2); // past the in-isolate copy
    const kv = countingKv(env.SESSION_CACHE);
    expect((await h.call("/api/me", { cookie: first.jar.header, env: withEnv({ SESSION_CACHE: kv.kv }) })).status).toBe(200);
    expect(kv.reads).toEqual([tenantEdgeKey(t.id)]);
  });

  it("a hot product request through the gateway whose in-isolate copy is stale reads one KV key: the tenant's edge document", async () => {
    const { h, t, first } = await tenantWithRuleAndTwoBrowsers();
    const origin = fakeOrigin();
    expect((await h.call("/app", { cookie: first.jar.header, env: gatewayEnv(origin.binding) })).status).toBe(200);
    h.clock.advanceSeconds(2); // past the in-isolate copy
    const kv = countingKv(env.SESSION_CACHE);
    expect((await h.call("/app", { cookie: first.jar.header, env: gatewayEnv(origin.binding, { SESSION_CACHE: kv.kv }) })).status).toBe(200);
    expect(kv.reads).toEqual([tenantEdgeKey(t.id)]);
  });
});

describe("the tenant's edge document is built from D1 only", () => {
  const ruleAndRevocationWriters = async () => {
    const { h, t, first, second } = await tenantWithRuleAndTwoBrowsers();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IP_RULE_CHANGE", t.admin);
    await h.stepUp(second.jar.header, "REVOKE_SESSION", t.member);
    const addRule = async (cidr: string) => expect((await h.call("/api/security/ip-rules", { cookie: admin.cookie, body: { action: "deny", cidr } })).status).toBe(201);
    const revoke = async (sessionId: string) =>
      expect((await h.call(`/api/security/sessions/${sessionId}/revoke`, { cookie: second.jar.header, method: "POST" })).status).toBe(200);
    return { h, t, first, second, addRule, revoke };
  };

  it("a rule change and a session revocation written concurrently are both enforced", async () => {
    const { h, first, second, addRule, revoke } = await ruleAndRevocationWriters();
    await Promise.all([addRule("192.0.2.0/24"), revoke(first.sessionId)]);
    h.clock.advanceSeconds(2);
    expect((await h.call("/api/me", { cookie: first.jar.header })).status).toBe(401);
    expect((await h.call("/api/me", { cookie: second.jar.header, ip: "192.0.2.9" })).status).toBe(403);
    expect((await h.call("/api/me", { cookie: second.jar.header })).status).toBe(200);
  });

  it("a writer of either kind never builds on what KV holds: a rule change on top of a stale document keeps a revocation, and a revocation keeps a rule", async () => {
    const { h, t, first, second, addRule, revoke } = await ruleAndRevocationWriters();
    const third = await browserSignIn(h, t.member);
    // A revocation, then the rule writer sees (in KV) the document from before it.
    const beforeRevocation = await storedDoc(t.id);
    await revoke(first.sessionId);
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), JSON.stringify(beforeRevocation));
    await addRule("192.0.2.0/24");
    h.clock.advanceSeconds(2);
    expect((await h.call("/api/me", { cookie: first.jar.header })).status).toBe(401);
    expect((await h.call("/api/me", { cookie: second.jar.header, ip: "192.0.2.9" })).status).toBe(403);
    // A rule, then the revocation writer sees the document from before it.
    const beforeRule = await storedDoc(t.id);
    await addRule("100.64.0.0/10");
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), JSON.stringify(beforeRule));
    await revoke(third.sessionId);
    h.clock.advanceSeconds(2);
    expect((await h.call("/api/me", { cookie: third.jar.header })).status).toBe(401);
    expect((await h.call("/api/me", { cookie: second.jar.header, ip: "100.64.0.9" })).status).toBe(403);
    expect((await h.call("/api/me", { cookie: second.jar.header })).status).toBe(200);
  });
});

describe("an edge document KV holds but cannot be used is rebuilt from D1 (never trusted, never a lockout)", () => {
  const unusable: [string, (t: SeededTenant, nowMs: number) => string][] = [
    ["does not parse", () => "{not json"],
    ["is over its size bound", (t, nowMs) => {
      const doc = emptyDoc(t.id, nowMs);
      for (let i = 0; i < 9000; i++) doc.users[`usr_padding_${i}_${"x".repeat(40)}`] = { fp: "f".repeat(24), at: nowMs };
      return JSON.stringify(doc);
    }],
    ["names another tenant", (_t, nowMs) => JSON.stringify(emptyDoc("ten_someone_else", nowMs))],
    ["is of another format", (t, nowMs) => JSON.stringify({ ...emptyDoc(t.id, nowMs), format: 0 })],
    ["has no cache rebuild time (an earlier release's)", (t, nowMs) => JSON.stringify({ ...emptyDoc(t.id, nowMs), cacheRebuiltAt: undefined })],
    ["has a rule set without its indexes", (t, nowMs) => JSON.stringify({ ...emptyDoc(t.id, nowMs), rules: { format: emptyDoc(t.id, nowMs).rules.format } })],
    ["has a rule set without its allow-list bound", (t, nowMs) => {
      const doc = emptyDoc(t.id, nowMs);
      return JSON.stringify({ ...doc, rules: { ...doc.rules, allowListUntil: undefined } });
    }],
  ];

  for (const [what, make] of unusable) {
    it(`an edge document that ${what} is rebuilt from D1: a revocation and a deny rule are still enforced, and the document is rewritten`, async () => {
      const { h, t, first, second } = await tenantWithRuleAndTwoBrowsers();
      await revokedBehindTheDocument(h, first.sessionId);
      await env.SESSION_CACHE.put(tenantEdgeKey(t.id), make(t, h.clock.ms));
      h.clock.advanceSeconds(2); // past the in-isolate copy
      expect((await h.call("/api/me", { cookie: first.jar.header })).status).toBe(401);
      expect((await h.call("/api/me", { cookie: second.jar.header, ip: BLOCKED })).status).toBe(403);
      expect((await h.call("/api/me", { cookie: second.jar.header, ip: HOME })).status).toBe(200);
      const healed = await storedDoc(t.id);
      expect(healed).toMatchObject({ tenantId: t.id, rules: { count: 1 }, sessions: { [first.sessionId]: { fp: "revoked" } } });
    });
  }

  it("an edge document that cannot be used and that D1 cannot rebuild answers 503 AUTH_UNAVAILABLE, never a pass", async () => {
    const { h, t, second } = await tenantWithRuleAndTwoBrowsers();
    await env.SESSION_CACHE.put(tenantEdgeKey(t.id), "{not json");
    h.clock.advanceSeconds(2);
    const res = await h.call("/api/me", { cookie: second.jar.header, env: withEnv({ DB: brokenBinding<D1Database>("D1") }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });
});

describe("a tenant whose changes overflow its edge document", () => {
  it("keeps its IP rules and policy enforced: only the session entries are dropped", async () => {
    const { h, t, first, second } = await tenantWithRuleAndTwoBrowsers();
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5001)
       INSERT INTO session_state_changes (tenant_id, subject_type, subject_id, fingerprint, changed_at) SELECT ?, 'user', 'usr_bulk' || i, 'x', ? FROM n`,
    )
      .bind(t.id, h.clock.ms)
      .run();
    await env.DB.prepare("UPDATE tenants SET require_two_factor = 1 WHERE id = ?").bind(t.id).run();
    await h.stepUp(second.jar.header, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${first.sessionId}/revoke`, { cookie: second.jar.header, method: "POST" })).status).toBe(200);
    h.clock.advanceSeconds(2);
    expect((await h.call("/api/me", { cookie: second.jar.header, ip: BLOCKED })).status).toBe(403);
    expect(await storedDoc(t.id)).toMatchObject({ rules: { count: 1 }, policy: { requireTwoFactor: true }, users: {}, sessions: {} });
    expect((await storedDoc(t.id))?.overflowUntil).toBeGreaterThan(h.clock.ms);
  });
});

describe("the edge document's fingerprints", () => {
  const user: AuthUser = {
    id: "usr_fp",
    tenantId: "ten_fp",
    email: "fp@example.test",
    displayName: "Fingerprint",
    role: "member",
    sessionVersion: 1,
    disabledAt: null,
    totpEnabled: false,
    passkeyCount: 0,
    permissionOverrides: null,
  };
  const session: AuthSession = {
    id: "ses_fp",
    tenantId: "ten_fp",
    userId: "usr_fp",
    tokenHash: "hash",
    sessionVersion: 1,
    createdAt: 1,
    lastSeenAt: 2,
    expiresAt: 3,
    revokedAt: null,
    revokeReason: null,
    amr: ["pwd"],
    impersonation: null,
  };

  it("a change to anything the edge check decides on changes the fingerprint, so no earlier snapshot passes; a last-seen refresh does not", async () => {
    const userChanges: Partial<AuthUser>[] = [
      { role: "admin" },
      { sessionVersion: 2 },
      { disabledAt: 5 },
      { totpEnabled: true },
      { passkeyCount: 1 },
      { permissionOverrides: { granted: ["SETTINGS_TEAM_VIEW"], revoked: [] } },
      { email: "other@example.test" },
      { displayName: "Other" },
    ];
    for (const change of userChanges) expect(await userFingerprint({ ...user, ...change }), JSON.stringify(change)).not.toBe(await userFingerprint(user));
    const sessionChanges: Partial<AuthSession>[] = [
      { sessionVersion: 2 },
      { expiresAt: 4 },
      { tokenHash: "other" },
      { amr: ["pwd", "otp"] },
      { impersonation: { userId: "usr_other", reason: "support", startedAt: 2, expiresAt: 9 } },
    ];
    for (const change of sessionChanges) expect(await sessionFingerprint({ ...session, ...change }), JSON.stringify(change)).not.toBe(await sessionFingerprint(session));
    expect(await sessionFingerprint({ ...session, lastSeenAt: 99 })).toBe(await sessionFingerprint(session));
    expect(await sessionFingerprint({ ...session, revokedAt: 5, revokeReason: "REVOKED" })).toBe(REVOKED_FINGERPRINT);
  });
});
