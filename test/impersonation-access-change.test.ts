// An impersonation stands on the rank rule checked when it started: any role or
// permission change of either party ends it, in the change's own batch.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, type SeededTenant, type SeededUser, d1WithChangeBeforeBatch, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type MeBody = { user: { id: string; role: string }; impersonation?: unknown };

async function impersonate(h: Harness, actor: SeededUser, targetId: string) {
  const admin = await h.session(actor);
  await h.stepUp(admin.cookie, "IMPERSONATION", actor);
  const res = await h.call(`/api/impersonate/${targetId}`, { cookie: admin.cookie, body: { reason: "Ticket #7: settings look wrong" } });
  expect(res.status).toBe(200);
  return admin;
}

async function ownerDoes(h: Harness, t: SeededTenant, path: string, body: unknown) {
  const owner = await h.session(t.owner);
  await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
  return h.call(path, { cookie: owner.cookie, method: "PATCH", body });
}

const rows = async (tenantId: string) =>
  (
    await auditStore.prepare("SELECT seq, action, request_id, json_extract(metadata, '$.reason') AS reason FROM audit_logs WHERE tenant_id = ? AND outcome = 'SUCCESS' ORDER BY seq")
      .bind(tenantId)
      .all<{ seq: number; action: string; request_id: string; reason: string | null }>()
  ).results;

describe("a role or permission change ends the impersonations its user takes part in", () => {
  it("promoting the impersonated member ends the impersonation in the same batch, and the admin is the admin again at once", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await impersonate(h, t.admin, t.member.id);
    expect((await h.call<MeBody>("/api/me", { cookie: admin.cookie })).body.user.id).toBe(t.member.id);

    expect((await ownerDoes(h, t, `/api/users/${t.member.id}/role`, { role: "owner" })).status).toBe(200);

    // The admin's cached session was rewritten: the very next request acts as the admin.
    const me = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(me.body.user.id).toBe(t.admin.id);
    expect(me.body.impersonation).toBeUndefined();
    const log = await rows(t.id);
    const change = log.find((r) => r.action === "USER_ROLE_UPDATED");
    const ended = log.filter((r) => r.action === "IMPERSONATION_ENDED");
    expect(ended).toEqual([expect.objectContaining({ reason: "ROLE_CHANGED", request_id: change?.request_id, seq: (change?.seq ?? 0) + 1 })]);
    const session = await env.DB.prepare("SELECT impersonated_user_id FROM user_sessions WHERE id = ?").bind(admin.sessionId).first();
    expect(session).toEqual({ impersonated_user_id: null });
  });

  it("demoting the impersonating admin ends the impersonation", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await impersonate(h, t.admin, t.member.id);
    expect((await ownerDoes(h, t, `/api/users/${t.admin.id}/role`, { role: "member" })).status).toBe(200);
    const me = await h.call<MeBody>("/api/me", { cookie: admin.cookie });
    expect(me.body).toMatchObject({ user: { id: t.admin.id, role: "member" } });
    expect(me.body.impersonation).toBeUndefined();
    expect((await rows(t.id)).filter((r) => r.action === "IMPERSONATION_ENDED").map((r) => r.reason)).toEqual(["ROLE_CHANGED"]);
  });

  it("a permission change of the impersonated user ends the impersonation", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await impersonate(h, t.admin, t.member.id);
    expect((await ownerDoes(h, t, `/api/users/${t.member.id}/permissions`, { grant: ["SETTINGS_TEAM_VIEW"] })).status).toBe(200);
    expect((await h.call<MeBody>("/api/me", { cookie: admin.cookie })).body.user.id).toBe(t.admin.id);
    expect((await rows(t.id)).filter((r) => r.action === "IMPERSONATION_ENDED").map((r) => r.reason)).toEqual(["ROLE_CHANGED"]);
  });

  it("an impersonation that began between a role change's checks and its batch makes the change fail whole (409)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const sneak = () =>
      env.DB.prepare("UPDATE user_sessions SET impersonated_user_id = ?, impersonation_reason = 'x', impersonation_started_at = ?, impersonation_expires_at = ? WHERE id = ?")
        .bind(t.member.id, h.clock.ms, h.clock.ms + 600_000, admin.sessionId)
        .run();
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    const res = await h.call(`/api/users/${t.member.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "owner" }, env: withEnv({ DB: d1WithChangeBeforeBatch(env.DB, null, sneak) }) });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("IMPERSONATION_CONFLICT");
    const member = await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(t.member.id).first();
    expect(member).toEqual({ role: "member" });
  });

  it("an impersonation start racing a role change of its target does not begin (the start's batch re-checks access)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    const promote = () => env.DB.prepare("UPDATE users SET role = 'owner' WHERE id = ?").bind(t.member.id).run();
    const res = await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket #8" }, env: withEnv({ DB: d1WithChangeBeforeBatch(env.DB, null, promote) }) });
    expect(res.status).toBe(409);
    const session = await env.DB.prepare("SELECT impersonated_user_id FROM user_sessions WHERE id = ?").bind(admin.sessionId).first();
    expect(session).toEqual({ impersonated_user_id: null });
    expect((await rows(t.id)).filter((r) => r.action === "IMPERSONATION_STARTED")).toEqual([]);
  });
});
