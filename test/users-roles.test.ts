import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

type UserBody = { user: { id: string; role: string; permissions: string[] } };

const setRole = (h: Harness, cookie: string, id: string, role: string) => h.call<UserBody>(`/api/users/${id}/role`, { cookie, method: "PATCH", body: { role } });

describe("GET /api/users", () => {
  it("lists the tenant's team for SETTINGS_TEAM_VIEW, and only that tenant", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await seedTenant("other");
    const admin = await h.session(t.admin);
    const res = await h.call<{ users: { id: string; role: string; totpEnabled: boolean }[] }>("/api/users", { cookie: admin.cookie });
    expect(res.status).toBe(200);
    expect(res.body.users.map((u) => u.id).sort()).toEqual([t.owner.id, t.admin.id, t.member.id].sort());
    expect(JSON.stringify(res.body)).not.toMatch(/password|secret|hash/i);
  });

  it("marks the members single sign-on has linked to the tenant's identity provider, and those SCIM named, and no one else (not a member made without a password)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO sso_connections (id, tenant_id, protocol, issuer, client_id, client_secret_enc, provider_metadata, created_at, updated_at) VALUES ('ssc_t', ?, 'oidc', 'https://idp.example', 'c', 'x', '{}', ?, ?)").bind(t.id, now, now),
      env.DB.prepare("INSERT INTO sso_identities (connection_id, subject, tenant_id, user_id, created_at) VALUES ('ssc_t', 'sub-1', ?, ?, ?)").bind(t.id, t.member.id, now),
      env.DB.prepare("UPDATE users SET scim_external_id = 'ext-1' WHERE id = ?").bind(t.admin.id),
      env.DB.prepare("UPDATE users SET password_hash = 'provisioned:no-password' WHERE id = ?").bind(t.member.id),
    ]);
    const admin = await h.session(t.admin);
    const res = await h.call<{ users: { id: string; sso: boolean; scim: boolean }[] }>("/api/users", { cookie: admin.cookie });
    const marks = Object.fromEntries(res.body.users.map((u) => [u.id, [u.sso, u.scim]]));
    expect(marks).toEqual({ [t.owner.id]: [false, false], [t.admin.id]: [false, true], [t.member.id]: [true, false] });
  });

  it("403 for a member", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    expect((await h.call("/api/users", { cookie: member.cookie })).status).toBe(403);
  });
});

describe("PATCH /api/users/:id/role", () => {
  it("changes a role with step-up ROLE_CHANGE, audited with before/after, and takes effect at once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const owner = await h.session(t.owner);
    expect((await setRole(h, owner.cookie, t.member.id, "admin")).status).toBe(428);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    const res = await setRole(h, owner.cookie, t.member.id, "admin");
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe("admin");
    const me = await h.call<{ user: { role: string; permissions: string[] } }>("/api/me", { cookie: member.cookie });
    expect(me.body.user.role).toBe("admin");
    expect(me.body.user.permissions).toContain("SETTINGS_SECURITY_EDIT");
    const audit = await auditStore.prepare("SELECT before, after FROM audit_logs WHERE tenant_id = ? AND action = 'USER_ROLE_UPDATED' AND outcome = 'SUCCESS'").bind(t.id).first<{ before: string; after: string }>();
    expect(JSON.parse(audit?.before ?? "{}").role).toBe("member");
    expect(JSON.parse(audit?.after ?? "{}").role).toBe("admin");
  });

  it("nobody changes their own role", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "ROLE_CHANGE", t.admin);
    const res = await setRole(h, admin.cookie, t.admin.id, "owner");
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "CANNOT_CHANGE_OWN_ACCESS" });
  });

  it("only an owner grants owner; an admin cannot touch an owner", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "ROLE_CHANGE", t.admin);
    expect((await setRole(h, admin.cookie, t.member.id, "owner")).status).toBe(403);
    expect((await setRole(h, admin.cookie, t.owner.id, "member")).status).toBe(403);
    const owner = await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(t.owner.id).first<{ role: string }>();
    expect(owner?.role).toBe("owner");
  });

  it("an owner can demote another owner while one owner remains", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    expect((await setRole(h, owner.cookie, t.admin.id, "owner")).status).toBe(200);
    const second = await h.session(t.admin); // now an owner
    await h.stepUp(second.cookie, "ROLE_CHANGE", t.admin);
    expect((await setRole(h, second.cookie, t.owner.id, "member")).status).toBe(200);
    // t.admin is now the only owner; nobody else can demote them, and they cannot demote themselves.
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner'").bind(t.id).first<{ n: number }>();
    expect(n?.n).toBe(1);
  });

  it("race: two owners demoting each other at once leave one owner (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await env.DB.prepare("UPDATE users SET role = 'owner' WHERE id = ?").bind(t.admin.id).run();
    const a = await h.session(t.owner);
    const b = await h.session({ ...t.admin, role: "owner" });
    await h.stepUp(a.cookie, "ROLE_CHANGE", t.owner);
    await h.stepUp(b.cookie, "ROLE_CHANGE", t.admin);
    const results = await Promise.all([setRole(h, a.cookie, t.admin.id, "member"), setRole(h, b.cookie, t.owner.id, "member")]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner'").bind(t.id).first<{ n: number }>();
    expect(n?.n).toBe(1);
  });

  it("isolation: another tenant's user is 404", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    expect((await setRole(h, owner.cookie, other.member.id, "admin")).status).toBe(404);
  });

  it("400 for an unknown role", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    expect((await setRole(h, owner.cookie, t.member.id, "superuser")).status).toBe(400);
  });
});

describe("PATCH /api/users/:id/permissions", () => {
  it("grants and revokes permissions beyond the role, audited, effective at once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    const res = await h.call<UserBody>(`/api/users/${t.member.id}/permissions`, { cookie: owner.cookie, method: "PATCH", body: { grant: ["SETTINGS_SECURITY_VIEW"] } });
    expect(res.status).toBe(200);
    expect(res.body.user.permissions).toEqual(["SETTINGS_SECURITY_VIEW"]);
    expect((await h.call("/api/audit-logs", { cookie: member.cookie })).status).toBe(200);
    const audit = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'USER_PERMISSIONS_UPDATED' AND outcome = 'SUCCESS'").bind(t.id).first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });

  it("400 when a permission is both granted and revoked, or nothing is asked", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    const both = await h.call(`/api/users/${t.member.id}/permissions`, { cookie: owner.cookie, method: "PATCH", body: { grant: ["SETTINGS_TEAM_VIEW"], revoke: ["SETTINGS_TEAM_VIEW"] } });
    expect(both.status).toBe(400);
    expect((await h.call(`/api/users/${t.member.id}/permissions`, { cookie: owner.cookie, method: "PATCH", body: {} })).status).toBe(400);
  });
});
