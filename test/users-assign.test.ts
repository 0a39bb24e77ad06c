// Handing out access: nobody assigns a role above their own rank, and nobody grants a
// permission they do not hold themselves.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomId } from "../src/lib/crypto";
import { sealSecret } from "../src/stepup/secret-box";
import { generateTotpSecret } from "../src/stepup/totp";
import { Harness, type SeededTenant, type SeededUser, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

/** A second member of the tenant, with TOTP, holding `granted` beyond the member role. */
async function memberWith(t: SeededTenant, granted: string[]): Promise<SeededUser> {
  const user: SeededUser = { id: randomId("usr_"), email: `member2@${t.slug}.test`, role: "member", totpSecret: generateTotpSecret() };
  const sealed = await sealSecret(env, user.totpSecret as string, user.id);
  await env.DB.prepare(
    `INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at, totp_secret_enc, totp_enabled, permission_overrides)
     SELECT ?, tenant_id, ?, 'second member', 'member', password_hash, 1, created_at, ?, 1, ? FROM users WHERE id = ?`,
  )
    .bind(user.id, user.email, sealed, JSON.stringify({ granted, revoked: [] }), t.member.id)
    .run();
  return user;
}

const roleOf = async (id: string) => (await env.DB.prepare("SELECT role, permission_overrides FROM users WHERE id = ?").bind(id).first()) as Record<string, unknown>;

describe("nobody hands out more access than they have", () => {
  it("nobody assigns a role above their own rank: a member holding SETTINGS_SECURITY_EDIT cannot make a member admin", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const editor = await memberWith(t, ["SETTINGS_SECURITY_EDIT"]);
    const { cookie } = await h.session(editor);
    await h.stepUp(cookie, "ROLE_CHANGE", editor);
    const res = await h.call(`/api/users/${t.member.id}/role`, { cookie, method: "PATCH", body: { role: "admin" } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("FORBIDDEN");
    expect((await roleOf(t.member.id)).role).toBe("member");
    const audit = await auditStore.prepare("SELECT outcome, failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'USER_ROLE_UPDATED'").bind(t.id).all();
    expect(audit.results).toEqual([{ outcome: "FAIL", failure_reason: "FORBIDDEN" }]);
  });

  it("an admin assigns roles up to admin, never owner; an owner assigns any", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "ROLE_CHANGE", t.admin);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: admin.cookie, method: "PATCH", body: { role: "owner" } })).status).toBe(403);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: admin.cookie, method: "PATCH", body: { role: "admin" } })).status).toBe(200);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "owner" } })).status).toBe(200);
  });

  it("nobody grants a permission they do not hold themselves", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const editor = await memberWith(t, ["SETTINGS_SECURITY_EDIT"]);
    const { cookie } = await h.session(editor);
    await h.stepUp(cookie, "ROLE_CHANGE", editor);
    const path = `/api/users/${t.member.id}/permissions`;
    const res = await h.call(path, { cookie, method: "PATCH", body: { grant: ["SETTINGS_SECURITY_VIEW", "SETTINGS_SECURITY_EDIT"] } });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain("SETTINGS_SECURITY_VIEW");
    expect((await roleOf(t.member.id)).permission_overrides).toBeNull();
    // What the editor holds, they may pass on.
    expect((await h.call(path, { cookie, method: "PATCH", body: { grant: ["SETTINGS_SECURITY_EDIT"] } })).status).toBe(200);
  });
});
