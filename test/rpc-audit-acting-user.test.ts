// recordAuditEvent records a product action only as whom the product acted for: the
// `user.id` that authenticate answered must still be whom the session acts as.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type Harness, type SeededTenant, seedTenant } from "./helpers";
import { auditRows, authenticate, productEvent, realTimeHarness, verifyStepUp } from "./rpc-fixtures";

/** The admin's session, impersonating the member, as the product sees it through authenticate. */
async function impersonatingAdmin(h: Harness, t: SeededTenant) {
  const admin = await h.session(t.admin);
  expect((await verifyStepUp(h, admin.cookie, "IMPERSONATION", t.admin)).status).toBe(200);
  expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 7: notes missing" } })).status).toBe(200);
  const who = await authenticate(admin.cookie);
  if (!who.ok) throw new Error(JSON.stringify(who));
  expect(who.user.id).toBe(t.member.id);
  return { ...admin, actingFor: who.user.id };
}

const productRows = async (tenantId: string) => (await auditRows(tenantId)).filter((r) => r.action.startsWith("app."));

describe("GatehouseService.recordAuditEvent records an action only as whom the product acted for", () => {
  it("an impersonation that ends between authenticate and recordAuditEvent is refused with 409 IMPERSONATION_ENDED, and nothing is recorded as the admin acting as themselves", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await impersonatingAdmin(h, t);
    expect((await h.call("/api/impersonate/exit", { cookie: admin.cookie, method: "POST" })).status).toBe(200);
    const res = await env.GATEHOUSE.recordAuditEvent(productEvent(admin.sessionId, admin.actingFor));
    expect(res).toMatchObject({ ok: false, status: 409, error: "IMPERSONATION_ENDED" });
    expect(await productRows(t.id)).toEqual([]);
    // The refusal is evidence, as on the API.
    const refused = (await auditRows(t.id)).filter((r) => r.action === "REQUEST_REFUSED");
    expect(refused.map((r) => [r.actor_user_id, r.failure_reason])).toEqual([[t.admin.id, "IMPERSONATION_ENDED"]]);
  });

  it("an impersonation that expires between authenticate and recordAuditEvent is ended and the call refused with 409 IMPERSONATION_ENDED", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await impersonatingAdmin(h, t);
    await env.DB.prepare("UPDATE user_sessions SET impersonation_expires_at = ? WHERE id = ?").bind(Date.now() - 1000, admin.sessionId).run();
    const res = await env.GATEHOUSE.recordAuditEvent(productEvent(admin.sessionId, admin.actingFor));
    expect(res).toMatchObject({ ok: false, status: 409, error: "IMPERSONATION_ENDED" });
    expect(await productRows(t.id)).toEqual([]);
    const session = await env.DB.prepare("SELECT impersonated_user_id FROM user_sessions WHERE id = ?").bind(admin.sessionId).first<{ impersonated_user_id: string | null }>();
    expect(session?.impersonated_user_id).toBeNull();
  });

  it("an impersonation that starts between authenticate and recordAuditEvent is refused with 409 ACTING_USER_CHANGED: the admin's own action is never recorded as done for the member", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    const who = await authenticate(admin.cookie);
    if (!who.ok) throw new Error(JSON.stringify(who));
    expect((await verifyStepUp(h, admin.cookie, "IMPERSONATION", t.admin)).status).toBe(200);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 8: after the fact" } })).status).toBe(200);
    const res = await env.GATEHOUSE.recordAuditEvent(productEvent(admin.sessionId, who.user.id));
    expect(res).toMatchObject({ ok: false, status: 409, error: "ACTING_USER_CHANGED" });
    expect(await productRows(t.id)).toEqual([]);
  });

  it("while the impersonation lasts, the action is recorded for the member with the admin as real user", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const admin = await impersonatingAdmin(h, t);
    const res = await env.GATEHOUSE.recordAuditEvent(productEvent(admin.sessionId, admin.actingFor));
    expect(res.ok).toBe(true);
    expect(await productRows(t.id)).toMatchObject([{ actor_user_id: t.member.id, real_user_id: t.admin.id, is_impersonating: 1 }]);
  });

  it("whom the product acted for is required: a call without userId is 400 VALIDATION_FAILED and records nothing", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    const { userId: _userId, ...withoutUser } = productEvent(sessionId, t.member.id);
    const res = await env.GATEHOUSE.recordAuditEvent(withoutUser as Parameters<typeof env.GATEHOUSE.recordAuditEvent>[0]);
    expect(res).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "userId" }] });
    expect(await productRows(t.id)).toEqual([]);
  });
});
