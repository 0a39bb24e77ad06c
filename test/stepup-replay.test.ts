import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";

describe("replay: a TOTP time step is accepted at most once per user", () => {
  it("refuses the same code twice for step-up (REPLAYED_OTP)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    h.clock.advanceSeconds(30);
    const code = h.code(t.admin);
    const first = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code } });
    expect(first.status).toBe(200);
    const again = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code } });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe("REPLAYED_OTP");
  });

  it("refuses a code used at sign-in when replayed for step-up", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const code = h.code(t.admin);
    const login = await h.login(t.admin.email, PASSWORD, { totpCode: code });
    const res = await h.call("/api/security/stepup/verify", { cookie: login.cookie, body: { purpose: "FORCE_LOGOUT", code } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("REPLAYED_OTP");
  });

  it("refuses a code from an earlier step once a later one was accepted", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    h.clock.advanceSeconds(30);
    const older = h.code(t.admin);
    h.clock.advanceSeconds(30);
    expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } })).status).toBe(200);
    // `older` is within the ±1 drift window, but precedes the accepted step.
    const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: older } });
    expect(res.body.error).toBe("REPLAYED_OTP");
  });

  it("race: concurrent requests with one valid code succeed at most once (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    h.clock.advanceSeconds(30);
    const code = h.code(t.admin);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.body?.error === "REPLAYED_OTP")).toHaveLength(4);
  });

  it("race: concurrent sign-ins with one valid code create at most one session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const code = h.code(t.owner);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => h.call("/api/auth/login", { body: { email: t.owner.email, password: PASSWORD, totpCode: code } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });
});
