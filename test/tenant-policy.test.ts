import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { totpCodeAt } from "../src/stepup/totp";
import { Harness, type SeededTenant, apiRouteTable, countingD1, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type Policy = { policy: { requireTwoFactor: boolean } };

/** The owner turns the policy on (or off) through the API, as the panel does. */
async function setPolicy(h: Harness, t: SeededTenant, requireTwoFactor: boolean) {
  const owner = await h.session(t.owner);
  await h.stepUp(owner.cookie, "TENANT_POLICY_CHANGE", t.owner);
  const res = await h.call<Policy>("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor } });
  expect(res.status).toBe(200);
  return owner;
}

describe("the tenant policy", () => {
  it("only an owner changes it, with step-up; admins may read it; both outcomes are audited", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    expect((await h.call<Policy>("/api/tenant/policy", { cookie: admin.cookie })).body.policy).toEqual({ requireTwoFactor: false, requirePhishingResistant: "off" });
    await h.stepUp(admin.cookie, "TENANT_POLICY_CHANGE", t.admin);
    const refused = await h.call("/api/tenant/policy", { cookie: admin.cookie, method: "PATCH", body: { requireTwoFactor: true } });
    expect(refused.status).toBe(403);
    const owner = await h.session(t.owner);
    expect((await h.call("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor: true } })).status).toBe(428);
    await setPolicy(h, t, true);
    expect((await h.call<Policy>("/api/tenant/policy", { cookie: owner.cookie })).body.policy).toEqual({ requireTwoFactor: true, requirePhishingResistant: "off" });
    const rows = await auditStore.prepare("SELECT outcome, actor_user_id, target_id, after FROM audit_logs WHERE tenant_id = ? AND action = 'TENANT_POLICY_UPDATED' ORDER BY seq").bind(t.id).all();
    expect(rows.results).toMatchObject([
      { outcome: "FAIL", actor_user_id: t.admin.id },
      { outcome: "SUCCESS", actor_user_id: t.owner.id, target_id: t.id, after: JSON.stringify({ requireTwoFactor: true, requirePhishingResistant: "off" }) },
    ]);
  });

  it("a bad body is 400 and changes nothing", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const res = await h.call("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor: "yes" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("VALIDATION_FAILED");
  });
});

describe("the required-2FA gate", () => {
  it("with two-factor required, a member without a second factor reaches only enrolment (TOTP or a passkey), /api/me and sign-out: every other route answers 403 MFA_ENROLLMENT_REQUIRED", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email); // signed in before the policy: it binds at once
    await setPolicy(h, t, true);
    const routes = new Map<string, { method: string; path: string }>();
    for (const r of apiRouteTable(createApp())) {
      // Sign-in and its kin come before any session (and the branding their pages show); the
      // operator API and the product's server API take no session at all, nor does the API's description.
      if (r.method === "ALL" || ["/api/auth/", "/api/health", "/api/branding", "/api/operator/", "/api/product/", "/api/openapi.json", "/api/reference"].some((p) => r.path.startsWith(p))) continue;
      routes.set(`${r.method} ${r.path}`, r);
    }
    expect(routes.size).toBeGreaterThan(20);
    const reached: string[] = [];
    for (const [key, r] of routes) {
      const path = r.path.replace(/:[a-zA-Z]+/g, "x_1");
      const res = await h.call(path, { cookie: member.cookie, method: r.method, ...(r.method === "GET" ? {} : { body: {} }) });
      if (res.body?.error !== "MFA_ENROLLMENT_REQUIRED") reached.push(key.replace(/^(\w+) \/api/, "$1 "));
      else expect(res.status, key).toBe(403);
    }
    expect(reached.sort()).toEqual(["GET /me", "GET /security/mfa/passkeys", "POST /security/mfa/passkeys", "POST /security/mfa/passkeys/options", "POST /security/mfa/totp/confirm", "POST /security/mfa/totp/enroll", "POST /security/stepup/verify"]);
    // Sign-out is an auth route, before the gate.
    expect((await h.call("/api/auth/logout", { cookie: member.cookie, body: {} })).status).toBe(200);
    // Each refused route writes its own audit row (a different request is not a repeat): some 40 writes.
  }, 30_000);

  it("sign-in sends a member without TOTP straight to enrolment, and /api/me says so", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await setPolicy(h, t, true);
    const res = await h.call<{ mfaEnrollmentRequired: boolean }>("/api/auth/login", { body: { email: t.member.email, password: "correct horse battery staple" } });
    expect(res.body.mfaEnrollmentRequired).toBe(true);
    const cookie = (res.cookie ?? "").split(";")[0] ?? "";
    expect((await h.call<{ mfaEnrollmentRequired?: boolean }>("/api/me", { cookie })).body.mfaEnrollmentRequired).toBe(true);
    const admin = await h.call<{ mfaEnrollmentRequired: boolean }>("/api/auth/login", { body: { email: t.admin.email, password: "correct horse battery staple", totpCode: h.code(t.admin) } });
    expect(admin.body.mfaEnrollmentRequired).toBe(false);
  });

  it("a member who enrols passes the gate; another tenant's members are not bound by this tenant's policy", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    await setPolicy(h, t, true);
    const member = await h.login(t.member.email);
    expect((await h.call("/api/security/sessions", { cookie: member.cookie })).status).toBe(403);
    await h.stepUp(member.cookie, "MFA_ENROLL", t.member);
    const enrol = await h.call<{ secret: string }>("/api/security/mfa/totp/enroll", { cookie: member.cookie, body: {} });
    expect(enrol.status).toBe(200);
    h.clock.advanceSeconds(30);
    const confirm = await h.call("/api/security/mfa/totp/confirm", { cookie: member.cookie, body: { code: totpCodeAt(enrol.body.secret, h.clock.ms) } });
    expect(confirm.status).toBe(200);
    expect((await h.call("/api/security/sessions", { cookie: member.cookie })).status).toBe(200);
    const stranger = await h.login(other.member.email);
    expect((await h.call("/api/security/sessions", { cookie: stranger.cookie })).status).toBe(200);
  });

  it("reads the policy from the tenant's cached state: a hot request makes no D1 query", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await setPolicy(h, t, true);
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    h.clock.advanceSeconds(2); // past the in-isolate copies: the KV entries answer
    for (const { cookie } of [member, admin]) {
      const counter = countingD1(env.DB);
      expect((await h.call("/api/me", { cookie, env: withEnv({ DB: counter.db }) })).status).toBe(200);
      expect(counter.count()).toBe(0);
    }
  });
});
