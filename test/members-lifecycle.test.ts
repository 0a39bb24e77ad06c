import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, type SeededUser, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

type Act = "disable" | "enable" | "remove" | "mfa-reset";

/** One lifecycle action by `actor` (stepped up for it) on `targetId`. */
async function act(h: Harness, actor: SeededUser, cookie: string, what: Act, targetId: string) {
  await h.stepUp(cookie, what === "mfa-reset" ? "MFA_RESET" : "USER_ACCESS_CHANGE", actor);
  if (what === "remove") return h.call(`/api/users/${targetId}`, { cookie, method: "DELETE" });
  return h.call(`/api/users/${targetId}/${what}`, { cookie, body: {} });
}

const auditRows = (tenantId: string, action: string) =>
  auditStore.prepare("SELECT outcome, target_id, failure_reason, before, metadata FROM audit_logs WHERE tenant_id = ? AND action = ? ORDER BY seq")
    .bind(tenantId, action)
    .all<{ outcome: string; target_id: string; failure_reason: string | null; before: string | null; metadata: string | null }>()
    .then((r) => r.results);

const me = (h: Harness, cookie: string) => h.call<{ user: { id: string }; impersonation?: unknown }>("/api/me", { cookie });

describe("disabling a member", () => {
  it("a disabled member's open sessions are dead on their next request", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    expect((await h.call(`/api/users/${t.member.id}/disable`, { cookie: admin.cookie, body: {} })).status).toBe(428);
    const res = await act(h, t.admin, admin.cookie, "disable", t.member.id);
    expect(res.status).toBe(200);
    for (const cookie of [member.cookie, other.cookie]) expect((await me(h, cookie)).status).toBe(401);
    const [row] = await auditRows(t.id, "USER_DISABLED");
    expect(row).toMatchObject({ outcome: "SUCCESS", target_id: t.member.id });
    expect(JSON.parse(row?.metadata ?? "{}").revokedSessionIds).toHaveLength(2);
  });

  it("sign-in of a disabled member answers 403 USER_DISABLED only once the password was right; a wrong password is the usual 401", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await act(h, t.admin, admin.cookie, "disable", t.member.id);
    const wrong = await h.call("/api/auth/login", { body: { email: t.member.email, password: `${PASSWORD}!` } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("INVALID_CREDENTIALS");
    const right = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect(right.status).toBe(403);
    expect(right.body.error).toBe("USER_DISABLED");
    expect(right.cookie).toBeUndefined();
  });

  it("re-enabling a member does not revive the sessions the disable ended", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    await act(h, t.admin, admin.cookie, "disable", t.member.id);
    expect((await act(h, t.admin, admin.cookie, "enable", t.member.id)).status).toBe(200);
    expect((await me(h, member.cookie)).status).toBe(401);
    const again = await h.login(t.member.email);
    expect((await me(h, again.cookie)).status).toBe(200);
    expect((await auditRows(t.id, "USER_ENABLED"))[0]?.outcome).toBe("SUCCESS");
  });

  it("an impersonation of a member ends when the member is disabled, and a disabled member cannot be impersonated", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
    expect((await me(h, admin.cookie)).body.user.id).toBe(t.member.id);
    const owner = await h.session(t.owner);
    expect((await act(h, t.owner, owner.cookie, "disable", t.member.id)).status).toBe(200);
    const after = await me(h, admin.cookie);
    expect(after.body.user.id).toBe(t.admin.id);
    expect(after.body.impersonation).toBeUndefined();
    const ended = await auditStore.prepare("SELECT json_extract(metadata, '$.reason') AS reason FROM audit_logs WHERE tenant_id = ? AND action = 'IMPERSONATION_ENDED'").bind(t.id).all<{ reason: string }>();
    expect(ended.results.map((r) => r.reason)).toEqual(["USER_DISABLED"]);
    const retry = await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 7: invoices" } });
    expect(retry.status).toBe(403);
  });

  it("two owners disabling each other at once: the tenant keeps an enabled owner", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await env.DB.prepare("UPDATE users SET role = 'owner' WHERE id = ?").bind(t.admin.id).run();
    const a = await h.session(t.owner);
    const b = await h.session(t.admin);
    await h.stepUp(a.cookie, "USER_ACCESS_CHANGE", t.owner);
    await h.stepUp(b.cookie, "USER_ACCESS_CHANGE", t.admin);
    const results = await Promise.all([
      h.call(`/api/users/${t.admin.id}/disable`, { cookie: a.cookie, body: {} }),
      h.call(`/api/users/${t.owner.id}/disable`, { cookie: b.cookie, body: {} }),
    ]);
    // Exactly one wins. The other is refused by the last-owner guard when the two overlap
    // (409), or, if it only started after the first committed, by its own ended session (401).
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const loser = results.find((r) => r.status !== 200);
    expect([409, 401]).toContain(loser?.status);
    if (loser?.status === 409) expect(loser.body.error).toBe("LAST_OWNER");
    const owners = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner' AND disabled_at IS NULL").bind(t.id).first<{ n: number }>();
    expect(owners?.n).toBe(1);
  });
});

describe("removing a member", () => {
  it("a removed member leaves the tenant: sessions end, sign-in fails like an unknown email, the team list drops them, their audit history stays attributable", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const admin = await h.session(t.admin);
    expect((await act(h, t.admin, admin.cookie, "remove", t.member.id)).status).toBe(200);
    expect((await me(h, member.cookie)).status).toBe(401);
    const signIn = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect(signIn.status).toBe(401);
    expect(signIn.body.error).toBe("INVALID_CREDENTIALS");
    const team = await h.call<{ users: { id: string }[] }>("/api/users", { cookie: admin.cookie });
    expect(team.body.users.map((u) => u.id)).not.toContain(t.member.id);
    // The row stays (sessions and the audit chain refer to it), without anything usable.
    const row = await env.DB.prepare("SELECT email, removed_at, disabled_at, password_hash FROM users WHERE id = ?").bind(t.member.id).first<Record<string, unknown>>();
    expect(row).toMatchObject({ email: t.member.email, password_hash: "removed" });
    expect(row?.removed_at).not.toBeNull();
    const signedIn = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND actor_user_id = ? AND action = 'LOGIN_SUCCEEDED'").bind(t.id, t.member.id).first<{ n: number }>();
    expect(signedIn?.n).toBe(1);
    const [removed] = await auditRows(t.id, "USER_REMOVED");
    expect(JSON.parse(removed?.before ?? "{}")).toMatchObject({ email: t.member.email, role: "member" });
    // Gone from the tenant: acting on them again is 404.
    expect((await act(h, t.admin, admin.cookie, "enable", t.member.id)).status).toBe(404);
  });
});

describe("admin MFA reset", () => {
  it("removes the member's TOTP and recovery codes and ends their sessions", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const target = await h.session(t.admin);
    await env.DB.prepare("INSERT INTO recovery_codes (id, tenant_id, user_id, code_hash, created_at) VALUES ('rc_lifecycle', ?, ?, 'x', 0)").bind(t.id, t.admin.id).run();
    const owner = await h.session(t.owner);
    expect((await act(h, t.owner, owner.cookie, "mfa-reset", t.admin.id)).status).toBe(200);
    expect((await me(h, target.cookie)).status).toBe(401);
    const row = await env.DB.prepare("SELECT totp_enabled, totp_secret_enc FROM users WHERE id = ?").bind(t.admin.id).first();
    expect(row).toEqual({ totp_enabled: 0, totp_secret_enc: null });
    const codes = await env.DB.prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?").bind(t.admin.id).first<{ n: number }>();
    expect(codes?.n).toBe(0);
    // Signs in with the password alone now.
    expect((await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD } })).status).toBe(200);
    expect((await auditRows(t.id, "MFA_RESET"))[0]?.outcome).toBe("SUCCESS");
  });

  it("only an owner resets an admin's second factor", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(t.member.id).run();
    const otherAdmin = { ...t.member, role: "admin" as const };
    const admin = await h.session(t.admin);
    const res = await act(h, t.admin, admin.cookie, "mfa-reset", otherAdmin.id);
    expect(res.status).toBe(403);
    expect((await auditRows(t.id, "MFA_RESET"))[0]).toMatchObject({ outcome: "FAIL", target_id: otherAdmin.id, failure_reason: "FORBIDDEN" });
  });
});

describe("the rank rule and the tenant boundary", () => {
  const acts: Act[] = ["disable", "enable", "remove", "mfa-reset"];

  it("an admin cannot disable, enable, remove or reset the MFA of an owner (403, audited FAIL, nothing changes)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    for (const what of acts) expect((await act(h, t.admin, admin.cookie, what, t.owner.id)).status, what).toBe(403);
    const owner = await env.DB.prepare("SELECT disabled_at, removed_at, totp_enabled FROM users WHERE id = ?").bind(t.owner.id).first();
    expect(owner).toEqual({ disabled_at: null, removed_at: null, totp_enabled: 1 });
    expect((await auditRows(t.id, "USER_DISABLED"))[0]).toMatchObject({ outcome: "FAIL", failure_reason: "FORBIDDEN" });
  });

  it("a member without SETTINGS_SECURITY_EDIT cannot act on another member", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    expect((await h.call(`/api/users/${t.admin.id}/disable`, { cookie: member.cookie, body: {} })).status).toBe(403);
  });

  it("nobody disables, removes or resets the MFA of themselves", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    for (const what of ["disable", "remove", "mfa-reset"] as const) {
      const res = await act(h, t.owner, owner.cookie, what, t.owner.id);
      expect(res.body.error, what).toBe("CANNOT_CHANGE_OWN_ACCESS");
    }
  });

  it("another tenant's user id is 404 for every lifecycle action", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const owner = await h.session(t.owner);
    for (const what of acts) {
      const res = await act(h, t.owner, owner.cookie, what, other.member.id);
      expect(res.status, what).toBe(404);
      expect(res.body.error).toBe("USER_NOT_FOUND");
    }
    const row = await env.DB.prepare("SELECT disabled_at, removed_at FROM users WHERE id = ?").bind(other.member.id).first();
    expect(row).toEqual({ disabled_at: null, removed_at: null });
  });
});
