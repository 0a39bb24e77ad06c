import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { STEP_UP_PURPOSES } from "../src/stepup/policy";
import { seedTenant } from "./helpers";
import { realTimeHarness, verifyStepUp } from "./rpc-fixtures";

describe("GatehouseService.requireStepUp through a service binding", () => {
  it("without a grant, a product purpose answers 428 STEP_UP_REQUIRED with its methods and label", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { sessionId } = await h.login(t.member.email);
    const res = await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" });
    expect(res).toEqual({
      ok: false,
      status: 428,
      error: "STEP_UP_REQUIRED",
      message: expect.any(String),
      purpose: "NOTE_DELETE",
      methods: ["password"],
      label: "delete a note",
    });
  });

  it("a grant earned through the verify route for a product purpose is claimed once: a single-use grant does not serve twice", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "NOTE_DELETE", t.member)).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })).toEqual({ ok: true });
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 428 });
  });

  it("two parallel claims of one single-use grant: exactly one succeeds", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "NOTE_DELETE", t.member)).status).toBe(200);
    const results = await Promise.all([0, 1, 2, 3].map(() => env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => (r as { status?: number }).status)).toEqual([428, 428, 428]);
  });

  it("while the session impersonates, a purpose that does not allow it is refused 403 IMPERSONATION_FORBIDDEN, even with a grant earned before", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.session(t.admin);
    expect((await verifyStepUp(h, cookie, "NOTE_DELETE", t.admin)).status).toBe(200);
    expect((await verifyStepUp(h, cookie, "IMPERSONATION", t.admin)).status).toBe(200);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie, body: { reason: "Ticket 12: delete" } })).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 403, error: "IMPERSONATION_FORBIDDEN" });
  });

  it("a grant is bound to its purpose: one for another purpose never counts", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "REVOKE_SESSION", t.member)).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 428 });
  });

  it("an admin-grade product purpose is TOTP-only: without TOTP the 428 asks to enrol and verify refuses the password", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "BILLING_EXPORT" })).toMatchObject({
      status: 428,
      methods: [],
      enrollmentRequired: true,
      label: "export billing data",
    });
    const verify = await verifyStepUp(h, cookie, "BILLING_EXPORT", t.member);
    expect(verify.status).toBe(403);
    expect(verify.body.error).toBe("MFA_ENROLLMENT_REQUIRED");
  });

  it("an admin-grade product purpose is earned with TOTP and, not single use, serves its window", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.session(t.admin);
    expect((await verifyStepUp(h, cookie, "BILLING_EXPORT", t.admin)).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "BILLING_EXPORT" })).toEqual({ ok: true });
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "BILLING_EXPORT" })).toEqual({ ok: true });
  });

  it("a revoked session is refused with 401 and its grant is not claimed", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "NOTE_DELETE", t.member)).status).toBe(200);
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 401, error: "SESSION_REVOKED" });
    const grant = await env.DB.prepare("SELECT used_at FROM stepup_challenges WHERE session_id = ?").bind(sessionId).first<{ used_at: number | null }>();
    expect(grant?.used_at).toBeNull();
  });

  it("an unknown session id is refused with 401", async () => {
    expect(await env.GATEHOUSE.requireStepUp({ sessionId: "nosuchsession", purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 401 });
  });

  it("an unknown purpose is 400 VALIDATION_FAILED, through the RPC and through the verify route", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "NOTE_SHRED" })).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "purpose" }] });
    const verify = await verifyStepUp(h, cookie, "NOTE_SHRED", t.member);
    expect(verify.status).toBe(400);
    expect(verify.body).toMatchObject({ error: "VALIDATION_FAILED", issues: [{ path: "purpose" }] });
  });

  it("a product call naming one of Gatehouse's own purposes is refused and leaves the member's single-use grant to the panel", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "PASSWORD_CHANGE", t.member)).status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "PASSWORD_CHANGE" })).toMatchObject({
      ok: false,
      status: 400,
      error: "VALIDATION_FAILED",
      issues: [{ path: "purpose", message: expect.stringContaining("PRODUCT_STEP_UP_PURPOSES") }],
    });
    const grant = await env.DB.prepare("SELECT used_at FROM stepup_challenges WHERE session_id = ? AND purpose = 'PASSWORD_CHANGE'").bind(sessionId).first<{ used_at: number | null }>();
    expect(grant?.used_at).toBeNull();
  });

  it("a reusable password-only grant for one of Gatehouse's purposes never satisfies the product, nor does any other of its purposes", async () => {
    const h = realTimeHarness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    expect((await verifyStepUp(h, cookie, "REVOKE_SESSION", t.member)).status).toBe(200);
    for (const purpose of STEP_UP_PURPOSES) {
      expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose }), purpose).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED", issues: [{ path: "purpose" }] });
    }
  });

  it("bad input is 400 VALIDATION_FAILED", async () => {
    expect(await env.GATEHOUSE.requireStepUp({ sessionId: "Not An Id!", purpose: "NOTE_DELETE" })).toMatchObject({ ok: false, status: 400, error: "VALIDATION_FAILED" });
  });
});
