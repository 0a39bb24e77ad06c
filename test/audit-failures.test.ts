import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

const lastRow = (tenantId: string, action: string) =>
  auditStore.prepare("SELECT outcome, failure_reason, actor_user_id, target_id FROM audit_logs WHERE tenant_id = ? AND action = ? ORDER BY seq DESC LIMIT 1")
    .bind(tenantId, action)
    .first<{ outcome: string; failure_reason: string; actor_user_id: string; target_id: string | null }>();

const count = async (tenantId: string) =>
  (await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())?.n ?? 0;

describe("refusals are audited as FAIL rows with their reason", () => {
  it("validation (400) on a sensitive route", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "emperor" } });
    expect(await lastRow(t.id, "USER_ROLE_UPDATED")).toMatchObject({ outcome: "FAIL", failure_reason: "VALIDATION_FAILED", target_id: t.member.id });
  });

  it("malformed JSON (400) on a sensitive route", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.session(t.owner);
    await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", rawBody: "{", headers: { "content-type": "application/json" } });
    expect(await lastRow(t.id, "USER_ROLE_UPDATED")).toMatchObject({ outcome: "FAIL", failure_reason: "MALFORMED_JSON" });
  });

  it("permission (403)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const member = await h.login(t.member.email);
    await h.call(`/api/users/${t.admin.id}/force-logout`, { cookie: member.cookie, method: "POST" });
    expect(await lastRow(t.id, "SESSION_INVALIDATED")).toMatchObject({ outcome: "FAIL", failure_reason: "FORBIDDEN", actor_user_id: t.member.id, target_id: t.admin.id });
  });

  it("not found (404), including another tenant's object", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "FORCE_LOGOUT", t.owner);
    await h.call(`/api/users/${other.member.id}/force-logout`, { cookie: owner.cookie, method: "POST" });
    expect(await lastRow(t.id, "SESSION_INVALIDATED")).toMatchObject({ outcome: "FAIL", failure_reason: "USER_NOT_FOUND" });
    expect(await count(other.id)).toBe(0);
  });

  it("invalid and replayed OTP at sign-in", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.call("/api/auth/login", { body: { email: t.admin.email, password: "correct horse battery staple", totpCode: "000000" } });
    expect(await lastRow(t.id, "LOGIN_FAILED")).toMatchObject({ outcome: "FAIL", failure_reason: "INVALID_OTP" });
    const code = h.code(t.admin);
    await h.login(t.admin.email, "correct horse battery staple", { totpCode: code });
    await h.call("/api/auth/login", { body: { email: t.admin.email, password: "correct horse battery staple", totpCode: code } });
    expect(await lastRow(t.id, "LOGIN_FAILED")).toMatchObject({ outcome: "FAIL", failure_reason: "REPLAYED_OTP" });
  });

  it("a 428 step-up challenge is a question, not a failure: no row", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const before = await count(t.id);
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie: admin.cookie, method: "POST" });
    expect(res.status).toBe(428);
    expect(await count(t.id)).toBe(before);
  });
});
