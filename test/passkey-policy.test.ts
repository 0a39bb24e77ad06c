// The tenant's phishing-resistance policy (requirePhishingResistant): who sets it, and what
// "admins" means for an admin's step-ups (src/stepup/phishing-resistance.ts owns the rule).
import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { addPasskey, auditRowsOf, newAuthenticator, passkeyStepUp, setPhishingResistance, signedInWithPasskey } from "./passkey-fixtures";

type Challenge = { error: string; purpose: string; methods: string[]; enrollmentRequired?: boolean; phishingResistantRequired?: boolean };
const policyPath = "/api/tenant/policy";

describe("requirePhishingResistant", () => {
  it("is set by an owner alone, with TENANT_POLICY_CHANGE: an admin is 403, a value outside off, admins, everyone is 400, and the change is audited", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "TENANT_POLICY_CHANGE", t.admin);
    expect((await h.call(policyPath, { cookie: admin.cookie, method: "PATCH", body: { requirePhishingResistant: "admins" } })).status).toBe(403);
    const owner = await h.session(t.owner);
    expect((await h.call(policyPath, { cookie: owner.cookie, method: "PATCH", body: { requirePhishingResistant: "admins" } })).status).toBe(428);
    await h.stepUp(owner.cookie, "TENANT_POLICY_CHANGE", t.owner);
    const bad = await h.call(policyPath, { cookie: owner.cookie, method: "PATCH", body: { requirePhishingResistant: "owners" } });
    expect([bad.status, bad.body.error]).toEqual([400, "VALIDATION_FAILED"]);
    const set = await h.call<{ policy: unknown }>(policyPath, { cookie: owner.cookie, method: "PATCH", body: { requirePhishingResistant: "admins" } });
    expect([set.status, set.body.policy]).toEqual([200, { requireTwoFactor: false, requirePhishingResistant: "admins" }]);
    const rows = (await auditRowsOf(t.id, "TENANT_POLICY_UPDATED")).filter((r) => r.outcome === "SUCCESS");
    expect(rows.map((r) => [r.actor_user_id, JSON.parse(r.before ?? "{}").requirePhishingResistant, JSON.parse(r.after ?? "{}").requirePhishingResistant])).toEqual([[t.owner.id, "off", "admins"]]);
  });
});

describe("with requirePhishingResistant admins", () => {
  it("an admin's 428 for a second-factor-only purpose lists only passkey, and says a phishing-resistant factor is required", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie } = await signedInWithPasskey(h, t.admin);
    await setPhishingResistance(h, t.owner, "admins");
    const res = await h.call<Challenge>(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} });
    expect([res.status, res.body.methods, res.body.phishingResistantRequired]).toEqual([428, ["passkey"], true]);
  });

  it("an admin's TOTP code and recovery code are refused with 403 PHISHING_RESISTANT_REQUIRED, each with a FAIL row, and the recovery code stays unused", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie } = await signedInWithPasskey(h, t.admin);
    await h.stepUp(cookie, "MFA_CHANGE", t.admin);
    const codes = await h.call<{ recoveryCodes: string[] }>("/api/security/mfa/recovery-codes/regenerate", { cookie, body: {} });
    await setPhishingResistance(h, t.owner, "admins");
    h.clock.advanceSeconds(30);
    const totp = await h.call<Challenge>("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    const recovery = await h.call<Challenge>("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", recoveryCode: codes.body.recoveryCodes[0] } });
    for (const res of [totp, recovery]) expect([res.status, res.body.error, res.body.methods]).toEqual([403, "PHISHING_RESISTANT_REQUIRED", ["passkey"]]);
    const rows = (await auditRowsOf(t.id, "STEP_UP_VERIFIED")).filter((r) => r.outcome === "FAIL");
    expect(rows.map((r) => [r.failure_reason, r.target_id])).toEqual([
      ["PHISHING_RESISTANT_REQUIRED", t.admin.id],
      ["PHISHING_RESISTANT_REQUIRED", t.admin.id],
    ]);
    const login = await h.call("/api/auth/login", { body: { email: t.admin.email, password: "correct horse battery staple", recoveryCode: codes.body.recoveryCodes[0] } });
    expect(login.status).toBe(200);
  });

  it("an admin's passkey earns the grant and the admin action goes through", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie, auth } = await signedInWithPasskey(h, t.admin);
    await setPhishingResistance(h, t.owner, "admins");
    await passkeyStepUp(h, cookie, "FORCE_LOGOUT", auth);
    expect((await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} })).status).toBe(200);
  });

  it("an admin without a passkey is told to enrol one, proves the enrolment with TOTP, and from then on MFA_CHANGE wants the passkey", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    await setPhishingResistance(h, t.owner, "admins");
    const { cookie } = await h.session(t.admin);
    const asked = await h.call<Challenge>(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} });
    expect([asked.status, asked.body.methods, asked.body.enrollmentRequired, asked.body.phishingResistantRequired]).toEqual([428, [], true, true]);
    h.clock.advanceSeconds(30);
    const totp = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    expect([totp.status, totp.body.error]).toEqual([403, "MFA_ENROLLMENT_REQUIRED"]);

    const enrol = await h.call<Challenge>("/api/security/mfa/passkeys/options", { cookie, body: {} });
    expect([enrol.status, enrol.body.purpose, enrol.body.methods]).toEqual([428, "MFA_CHANGE", ["totp", "recovery_code"]]);
    const auth = newAuthenticator();
    await addPasskey(h, t.admin, cookie, auth); // steps up MFA_CHANGE with TOTP
    const next = await h.call<Challenge>("/api/security/mfa/passkeys/options", { cookie, body: {} });
    expect([next.status, next.body.methods, next.body.phishingResistantRequired]).toEqual([428, ["passkey"], true]);
    h.clock.advanceSeconds(30);
    const code = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_CHANGE", code: h.code(t.admin) } });
    expect([code.status, code.body.error]).toEqual([403, "PHISHING_RESISTANT_REQUIRED"]);
    await passkeyStepUp(h, cookie, "MFA_CHANGE", auth);
    expect((await h.call("/api/security/mfa/passkeys/options", { cookie, body: {} })).status).toBe(200);
  });

  it("a member without SETTINGS_SECURITY_EDIT steps up as before: a recovery code still counts, and their challenges do not ask for a passkey alone", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie, recoveryCodes } = await signedInWithPasskey(h, t.member);
    await setPhishingResistance(h, t.owner, "admins");
    const page = await h.call<Challenge>("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie });
    expect([page.body.methods, page.body.phishingResistantRequired]).toEqual([["passkey", "recovery_code"], undefined]);
    const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "BILLING_EXPORT", recoveryCode: recoveryCodes?.[0] } });
    expect(res.status).toBe(200);
  });

  it("an admin's self-service purposes (REVOKE_SESSION, PASSWORD_CHANGE) still accept TOTP", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie } = await signedInWithPasskey(h, t.admin);
    await setPhishingResistance(h, t.owner, "admins");
    for (const purpose of ["REVOKE_SESSION", "PASSWORD_CHANGE"]) {
      h.clock.advanceSeconds(30);
      const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose, code: h.code(t.admin) } });
      expect([purpose, res.status]).toEqual([purpose, 200]);
    }
  });

  it("removing one's last passkey while the policy covers one is 409 LAST_FACTOR_REQUIRED, and the passkey stays", async () => {
    const h = new Harness();
    const t = await seedTenant("pkp");
    const { cookie, auth, passkey } = await signedInWithPasskey(h, t.admin);
    await setPhishingResistance(h, t.owner, "admins");
    await passkeyStepUp(h, cookie, "MFA_CHANGE", auth);
    const res = await h.call(`/api/security/mfa/passkeys/${passkey.id}`, { cookie, method: "DELETE" });
    expect([res.status, res.body.error]).toEqual([409, "LAST_FACTOR_REQUIRED"]);
    expect((await h.call<{ passkeys: unknown[] }>("/api/security/mfa/passkeys", { cookie })).body.passkeys).toHaveLength(1);
  });
});
