/**
 * A change that committed never answers an error. Every change below commits in D1, then
 * tells the edge (KV, and the tenant's object, which writes the tenant's edge document);
 * here KV refuses every write and the object cannot be reached, so the edge cannot be told. The answer
 * is still the change's success, with `propagation` saying it is delayed and the bound
 * until it holds everywhere, and D1 holds the change: a client never retries something
 * that already happened. (503 AUTH_UNAVAILABLE keeps its one meaning: not done.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROPAGATION_BOUND_SECONDS } from "../src/propagation";
import { type CallResult, Harness, kvRefusingWrites, seedTenant, tenantObjectsUnreachable, withEnv } from "./helpers";

const refusingKv = { env: withEnv({ SESSION_CACHE: kvRefusingWrites(), TENANT: tenantObjectsUnreachable() }) };

type Body = { propagation?: unknown; error?: string; [key: string]: unknown };

function expectSuccessWithDelayedPropagation(res: CallResult<Body>, status = 200) {
  expect([res.status, res.body.error]).toEqual([status, undefined]);
  expect(res.body.propagation).toEqual({ status: "delayed", boundSeconds: PROPAGATION_BOUND_SECONDS, message: expect.stringMatching(/saved.*do not repeat/) });
}

const d1Row = <T>(sql: string, ...binds: unknown[]) => env.DB.prepare(sql).bind(...binds).first<T>();
const userRow = (id: string) => d1Row<{ role: string; disabled_at: number | null; removed_at: number | null; session_version: number; totp_enabled: number; display_name: string; permission_overrides: string | null }>("SELECT * FROM users WHERE id = ?", id);
const sessionRow = (id: string) => d1Row<{ revoked_at: number | null; revoke_reason: string | null; impersonated_user_id: string | null }>("SELECT * FROM user_sessions WHERE id = ?", id);

/**
 * A tenant whose member is signed in (`member`), then `who` signs in (`me`: the member's
 * second session, or the owner's) and steps up for `purpose`.
 */
async function steppedUp(purpose: string, who: "owner" | "member" = "owner") {
  const h = new Harness();
  const t = await seedTenant();
  const member = await h.session(t.member);
  const me = await h.session(t[who]);
  await h.stepUp(me.cookie, purpose, t[who]);
  return { h, t, me, member };
}

const asOwner = (cookie: string, options: { method?: string; body?: unknown } = {}) => ({ cookie, ...refusingKv, ...options });

describe("a committed change answers its success, with the propagation delayed, when KV refuses every write and the tenant's object cannot be reached", () => {
  it("a change that reached KV carries no propagation field", async () => {
    const { h, t, me: owner } = await steppedUp("FORCE_LOGOUT");
    const res = await h.call<Body>(`/api/users/${t.member.id}/force-logout`, { cookie: owner.cookie, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty("propagation");
  });

  it("a sign-out answers 200 and clears its cookies, and D1 has the session revoked", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.session(t.member);
    const res = await h.call<Body>("/api/auth/logout", { cookie: member.cookie, body: {}, ...refusingKv });
    expectSuccessWithDelayedPropagation(res);
    expect(res.cookie).toMatch(/__Host-gatehouse_session=;/);
    expect((await sessionRow(member.sessionId))?.revoke_reason).toBe("LOGOUT");
  });

  it("revoking one of your sessions answers 200, and D1 has it revoked", async () => {
    const { h, me, member: other } = await steppedUp("REVOKE_SESSION", "member");
    const res = await h.call<Body>(`/api/security/sessions/${other.sessionId}/revoke`, { cookie: me.cookie, method: "POST", ...refusingKv });
    expectSuccessWithDelayedPropagation(res);
    expect((await sessionRow(other.sessionId))?.revoke_reason).toBe("REVOKED");
  });

  it("a force logout answers 200, and D1 has the member's sessions revoked and their session version bumped", async () => {
    const { h, t, me: owner, member } = await steppedUp("FORCE_LOGOUT");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.member.id}/force-logout`, asOwner(owner.cookie, { body: {} })));
    expect((await sessionRow(member.sessionId))?.revoke_reason).toBe("FORCE_LOGOUT");
    expect((await userRow(t.member.id))?.session_version).toBe(2);
  });

  it("a role change answers 200, and D1 has the new role", async () => {
    const { h, t, me: owner } = await steppedUp("ROLE_CHANGE");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.member.id}/role`, asOwner(owner.cookie, { method: "PATCH", body: { role: "admin" } })));
    expect((await userRow(t.member.id))?.role).toBe("admin");
  });

  it("a permission change answers 200, and D1 has the new permissions", async () => {
    const { h, t, me: owner } = await steppedUp("ROLE_CHANGE");
    const res = await h.call<Body>(`/api/users/${t.member.id}/permissions`, asOwner(owner.cookie, { method: "PATCH", body: { grant: ["SETTINGS_TEAM_VIEW"] } }));
    expectSuccessWithDelayedPropagation(res);
    expect(JSON.parse((await userRow(t.member.id))?.permission_overrides ?? "null")).toEqual({ granted: ["SETTINGS_TEAM_VIEW"], revoked: [] });
  });

  it("disabling a member answers 200, and D1 has them disabled and their sessions revoked", async () => {
    const { h, t, me: owner, member } = await steppedUp("USER_ACCESS_CHANGE");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.member.id}/disable`, asOwner(owner.cookie, { body: {} })));
    expect((await userRow(t.member.id))?.disabled_at).not.toBeNull();
    expect((await sessionRow(member.sessionId))?.revoke_reason).toBe("USER_DISABLED");
  });

  it("enabling a member answers 200, and D1 has them enabled", async () => {
    const { h, t, me: owner } = await steppedUp("USER_ACCESS_CHANGE");
    expect((await h.call(`/api/users/${t.member.id}/disable`, { cookie: owner.cookie, body: {} })).status).toBe(200);
    await h.stepUp(owner.cookie, "USER_ACCESS_CHANGE", t.owner);
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.member.id}/enable`, asOwner(owner.cookie, { body: {} })));
    expect((await userRow(t.member.id))?.disabled_at).toBeNull();
  });

  it("removing a member answers 200, and D1 has them removed and their sessions revoked", async () => {
    const { h, t, me: owner, member } = await steppedUp("USER_ACCESS_CHANGE");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.member.id}`, asOwner(owner.cookie, { method: "DELETE" })));
    expect((await userRow(t.member.id))?.removed_at).not.toBeNull();
    expect((await sessionRow(member.sessionId))?.revoke_reason).toBe("USER_REMOVED");
  });

  it("resetting a member's two-factor answers 200, and D1 has it off", async () => {
    const { h, t, me: owner } = await steppedUp("MFA_RESET");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/users/${t.admin.id}/mfa-reset`, asOwner(owner.cookie, { body: {} })));
    expect((await userRow(t.admin.id))?.totp_enabled).toBe(0);
  });

  it("disabling your own two-factor answers 200, and D1 has it off", async () => {
    const { h, t, me: owner } = await steppedUp("MFA_CHANGE");
    expectSuccessWithDelayedPropagation(await h.call<Body>("/api/security/mfa/totp/disable", asOwner(owner.cookie, { body: {} })));
    expect((await userRow(t.owner.id))?.totp_enabled).toBe(0);
  });

  it("a password change that ends the other sessions answers 200, and D1 has them revoked", async () => {
    const { h, me, member: other } = await steppedUp("PASSWORD_CHANGE", "member");
    const body = { currentPassword: "correct horse battery staple", newPassword: "a brand new passphrase for the tests" };
    expectSuccessWithDelayedPropagation(await h.call<Body>("/api/account/password", { cookie: me.cookie, body, ...refusingKv }));
    expect((await sessionRow(other.sessionId))?.revoke_reason).toBe("PASSWORD_CHANGED");
  });

  it("a profile change answers 200, and D1 has the new name", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const me = await h.session(t.member);
    expectSuccessWithDelayedPropagation(await h.call<Body>("/api/account/profile", { cookie: me.cookie, method: "PATCH", body: { displayName: "Renamed" }, ...refusingKv }));
    expect((await userRow(t.member.id))?.display_name).toBe("Renamed");
  });

  it("creating, changing and deleting an IP rule each answer their success, and D1 has each change", async () => {
    const { h, t, me: owner } = await steppedUp("IP_RULE_CHANGE");
    const rules = () => env.DB.prepare("SELECT cidr FROM ip_rules WHERE tenant_id = ?").bind(t.id).all<{ cidr: string }>();
    const created = await h.call<Body & { rule: { id: string } }>("/api/security/ip-rules", asOwner(owner.cookie, { body: { action: "deny", cidr: "198.51.100.0/24", description: "test" } }));
    expectSuccessWithDelayedPropagation(created, 201);
    expect((await rules()).results).toEqual([{ cidr: "198.51.100.0/24" }]);
    const path = `/api/security/ip-rules/${created.body.rule.id}`;
    expectSuccessWithDelayedPropagation(await h.call<Body>(path, asOwner(owner.cookie, { method: "PATCH", body: { cidr: "198.51.101.0/24" } })));
    expect((await rules()).results).toEqual([{ cidr: "198.51.101.0/24" }]);
    expectSuccessWithDelayedPropagation(await h.call<Body>(path, asOwner(owner.cookie, { method: "DELETE" })));
    expect((await rules()).results).toEqual([]);
  });

  it("a tenant policy change answers 200, and D1 has the new policy", async () => {
    const { h, t, me: owner } = await steppedUp("TENANT_POLICY_CHANGE");
    expectSuccessWithDelayedPropagation(await h.call<Body>("/api/tenant/policy", asOwner(owner.cookie, { method: "PATCH", body: { requireTwoFactor: true } })));
    expect((await d1Row<{ require_two_factor: number }>("SELECT require_two_factor FROM tenants WHERE id = ?", t.id))?.require_two_factor).toBe(1);
  });

  it("starting an impersonation answers 200, and D1 has the session acting as the member", async () => {
    const { h, t, me: owner } = await steppedUp("IMPERSONATION");
    expectSuccessWithDelayedPropagation(await h.call<Body>(`/api/impersonate/${t.member.id}`, asOwner(owner.cookie, { body: { reason: "Ticket 7: invoices" } })));
    expect((await sessionRow(owner.sessionId))?.impersonated_user_id).toBe(t.member.id);
  });

  it("exiting an impersonation answers 200, and D1 has the session acting as itself again", async () => {
    const { h, t, me: owner } = await steppedUp("IMPERSONATION");
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: owner.cookie, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
    await h.stepUp(owner.cookie, "IMPERSONATION", t.owner);
    expectSuccessWithDelayedPropagation(await h.call<Body>("/api/impersonate/exit", asOwner(owner.cookie, { body: {} })));
    expect((await sessionRow(owner.sessionId))?.impersonated_user_id).toBeNull();
  });

  it("an impersonation that expired is ended on the next request though KV refuses writes: the request goes on as the admin, and D1 has it ended", async () => {
    const { h, t, me: owner } = await steppedUp("IMPERSONATION");
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: owner.cookie, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
    h.clock.advanceSeconds(30 * 60);
    const res = await h.call<{ user: { id: string } }>("/api/me", { cookie: owner.cookie, ...refusingKv });
    expect([res.status, res.body.user.id]).toEqual([200, t.owner.id]);
    expect((await sessionRow(owner.sessionId))?.impersonated_user_id).toBeNull();
  });

  it.each([
    ["KV refuses every write", () => ({ SESSION_CACHE: kvRefusingWrites() })],
    ["D1 fails on the read-back after its batch committed", () => ({ DB: d1FailingReadBackAfterBatch(env.DB) })],
  ])("the operator disabling a tenant answers 200 when %s, and D1 has the tenant disabled and its sessions revoked", async (_when, failing) => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.session(t.member);
    const token = "operator-token-for-tests-0123456789abcdef";
    const res = await h.call<Body>(`/api/operator/tenants/${t.id}/disable`, {
      env: withEnv({ OPERATOR_TOKEN: token, ...failing() }),
      headers: { authorization: `Bearer ${token}` },
      body: {},
    });
    expectSuccessWithDelayedPropagation(res);
    expect((await sessionRow(member.sessionId))?.revoke_reason).toBe("TENANT_DISABLED");
  });
});

/** D1 as usual, except that once a batch has run, the read of what a tenant-wide revocation ended fails. */
function d1FailingReadBackAfterBatch(inner: D1Database): D1Database {
  let batched = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const result = await target.batch(statements);
          batched = true;
          return result;
        };
      }
      if (prop === "prepare") {
        return (query: string) => target.prepare(batched && /"revoke_reason" = \?/.test(query) ? query.replace('"user_sessions"', '"user_sessions_unreadable"') : query);
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
