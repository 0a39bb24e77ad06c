import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

const WRONG = "000000";

describe("lockout: 5 failed codes per user within 15 minutes, on any path", () => {
  it("step-up: the 6th attempt is 429 without checking the code, even a right one", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    for (let i = 0; i < 5; i++) {
      const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: WRONG } });
      expect(res.body.error).toBe("INVALID_OTP");
    }
    h.clock.advanceSeconds(30);
    const locked = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe("TOO_MANY_ATTEMPTS");
    expect(locked.body.retryAfterSeconds).toBeGreaterThan(0);
    const audit = await auditStore.prepare("SELECT failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'STEP_UP_VERIFIED' ORDER BY seq DESC LIMIT 1")
      .bind(t.id)
      .first<{ failure_reason: string }>();
    expect(audit?.failure_reason).toBe("LOCKED_OUT");

    h.clock.advanceSeconds(15 * 60);
    expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } })).status).toBe(200);
  });

  it("sign-in second factor: failures there lock step-up too (one counter per user)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    for (let i = 0; i < 5; i++) {
      const res = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: WRONG } });
      expect(res.body.error).toBe("INVALID_OTP");
    }
    const login = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: WRONG } });
    expect(login.status).toBe(429);
    h.clock.advanceSeconds(30);
    const stepUp = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    expect(stepUp.status).toBe(429);
  });

  it("MFA confirm: wrong codes count toward the same lockout", async () => {
    const h = new Harness();
    const t = await seedTenant("lock", { totp: false });
    const { cookie } = await h.login(t.admin.email);
    await h.stepUp(cookie, "MFA_ENROLL", t.admin);
    expect((await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: WRONG } })).body.error).toBe("INVALID_OTP");
    }
    expect((await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: WRONG } })).status).toBe(429);
  });

  it("race: parallel wrong guesses are checked at most 5 times (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: String(100000 + i) } }),
      ),
    );
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });

  it("password step-up failures count too", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    for (let i = 0; i < 5; i++) {
      expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "REVOKE_SESSION", password: "wrong" } })).status).toBe(401);
    }
    expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "REVOKE_SESSION", password: PASSWORD } })).status).toBe(429);
  });
});
