import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

const NEW_PASSWORD = "a new and rather long passphrase 42";

describe("changing one's own password", () => {
  it("needs step-up and the current password; ends the other sessions by default, never the current one", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await h.login(t.member.email);
    const current = await h.login(t.member.email);
    const change = (body: Record<string, unknown>) => h.call<{ revoked: number }>("/api/account/password", { cookie: current.cookie, body });
    expect((await change({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(428);
    await h.stepUp(current.cookie, "PASSWORD_CHANGE", t.member);
    const wrong = await change({ currentPassword: `${PASSWORD}!`, newPassword: NEW_PASSWORD });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: "INVALID_PASSWORD" });
    const ok = await change({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(ok.status).toBe(200);
    expect(ok.body.revoked).toBe(1);
    expect((await h.call("/api/me", { cookie: other.cookie })).status).toBe(401);
    expect((await h.call("/api/me", { cookie: current.cookie })).status).toBe(200);
    expect((await h.login(t.member.email, NEW_PASSWORD)).userId).toBe(t.member.id);
    const rows = await auditStore.prepare("SELECT outcome, failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'PASSWORD_CHANGED' ORDER BY seq").bind(t.id).all();
    expect(rows.results).toEqual([
      { outcome: "FAIL", failure_reason: "INVALID_PASSWORD" },
      { outcome: "SUCCESS", failure_reason: null },
    ]);
  });

  it("keeps the other sessions when asked to (endOtherSessions: false)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await h.login(t.member.email);
    const current = await h.login(t.member.email);
    await h.stepUp(current.cookie, "PASSWORD_CHANGE", t.member);
    const res = await h.call("/api/account/password", { cookie: current.cookie, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, endOtherSessions: false } });
    expect(res.status).toBe(200);
    expect((await h.call("/api/me", { cookie: other.cookie })).status).toBe(200);
  });

  it("a weak new password is 400 WEAK_PASSWORD and the password stays", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const current = await h.login(t.member.email);
    await h.stepUp(current.cookie, "PASSWORD_CHANGE", t.member);
    const res = await h.call("/api/account/password", { cookie: current.cookie, body: { currentPassword: PASSWORD, newPassword: "short" } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("WEAK_PASSWORD");
    expect((await h.login(t.member.email)).userId).toBe(t.member.id);
  });
});

describe("changing one's display name", () => {
  it("is audited with before and after and shows in /api/me at once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const res = await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName: "  Bob Builder  " } });
    expect(res.status).toBe(200);
    const me = await h.call<{ user: { displayName: string } }>("/api/me", { cookie });
    expect(me.body.user.displayName).toBe("Bob Builder");
    const row = await auditStore.prepare("SELECT before, after FROM audit_logs WHERE tenant_id = ? AND action = 'PROFILE_UPDATED'").bind(t.id).first<{ before: string; after: string }>();
    expect(JSON.parse(row?.after ?? "{}")).toEqual({ displayName: "Bob Builder" });
    expect(JSON.parse(row?.before ?? "{}")).toEqual({ displayName: "member of t" });
  });

  it("an empty name or one with control characters is 400 and changes nothing", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    for (const displayName of ["   ", "Bob\u0000", "Bob\u202E"]) {
      const res = await h.call("/api/account/profile", { cookie, method: "PATCH", body: { displayName } });
      expect(res.status, JSON.stringify(displayName)).toBe(400);
    }
    const row = await env.DB.prepare("SELECT display_name FROM users WHERE id = ?").bind(t.member.id).first<{ display_name: string }>();
    expect(row?.display_name).toBe("member of t");
  });
});
