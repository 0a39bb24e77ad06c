import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { totpCodeAt } from "../src/stepup/totp";
import { Harness, PASSWORD, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

type EnrollBody = { secret: string; otpauthUrl: string; qrSvg: string };
type CodesBody = { success: boolean; recoveryCodes: string[] };

/** Starts enrolment the way the panel does: the 428 is answered with the password. */
async function startEnrolment(h: Harness, cookie: string) {
  const verify = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_ENROLL", password: PASSWORD } });
  expect(verify.status).toBe(200);
  return h.call<EnrollBody>("/api/security/mfa/totp/enroll", { cookie, method: "POST" });
}

async function enrol(h: Harness, cookie: string) {
  await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_ENROLL", password: PASSWORD } });
  const enroll = await h.call<EnrollBody>("/api/security/mfa/totp/enroll", { cookie, method: "POST" });
  expect(enroll.status).toBe(200);
  const confirm = await h.call<CodesBody>("/api/security/mfa/totp/confirm", { cookie, body: { code: totpCodeAt(enroll.body.secret, h.clock.ms) } });
  expect(confirm.status).toBe(200);
  return { secret: enroll.body.secret, recoveryCodes: confirm.body.recoveryCodes };
}

describe("TOTP enrolment", () => {
  it("enrol returns a pending secret, otpauth URL and QR SVG; confirm enables it with 10 recovery codes", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const enroll = await startEnrolment(h, cookie);
    expect(enroll.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enroll.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Gatehouse:.*secret=.*&algorithm=SHA1&digits=6&period=30/);
    expect(enroll.body.qrSvg).toMatch(/^<svg/);
    expect((await h.call<{ user: { totpEnabled: boolean } }>("/api/me", { cookie })).body.user.totpEnabled).toBe(false);

    const confirm = await h.call<CodesBody>("/api/security/mfa/totp/confirm", { cookie, body: { code: totpCodeAt(enroll.body.secret, h.clock.ms) } });
    expect(confirm.status).toBe(200);
    expect(confirm.body.recoveryCodes).toHaveLength(10);
    expect(new Set(confirm.body.recoveryCodes).size).toBe(10);
    expect((await h.call<{ user: { totpEnabled: boolean } }>("/api/me", { cookie })).body.user.totpEnabled).toBe(true);
  });

  it("stores the secret encrypted and recovery codes hashed", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const { secret, recoveryCodes } = await enrol(h, cookie);
    const user = await env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(t.member.id).first<Record<string, unknown>>();
    expect(JSON.stringify(user)).not.toContain(secret);
    expect(String(user?.totp_secret_enc)).toMatch(/^v2\.k0\./);
    const codes = await env.DB.prepare("SELECT code_hash FROM recovery_codes WHERE user_id = ?").bind(t.member.id).all<{ code_hash: string }>();
    expect(codes.results).toHaveLength(10);
    const dump = JSON.stringify(codes.results);
    for (const code of recoveryCodes) expect(dump).not.toContain(code.replace(/-/g, ""));
  });

  it("a wrong confirmation code leaves the factor disabled", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    await startEnrolment(h, cookie);
    const res = await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: "000000" } });
    expect(res.body.error).toBe("INVALID_OTP");
    expect((await h.call<{ user: { totpEnabled: boolean } }>("/api/me", { cookie })).body.user.totpEnabled).toBe(false);
  });

  it("confirm without a pending enrolment is 409", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    expect((await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: "123456" } })).status).toBe(409);
  });

  it("replacing an enabled factor needs step-up MFA_CHANGE", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    const res = await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" });
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ purpose: "MFA_CHANGE" });
    await h.stepUp(cookie, "MFA_CHANGE", t.admin);
    expect((await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" })).status).toBe(200);
  });

  it("disable needs step-up, then turns the factor off and drops recovery codes", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    expect((await h.call("/api/security/mfa/totp/disable", { cookie, method: "POST" })).status).toBe(428);
    await h.stepUp(cookie, "MFA_CHANGE", t.admin);
    expect((await h.call("/api/security/mfa/totp/disable", { cookie, method: "POST" })).status).toBe(200);
    const user = await env.DB.prepare("SELECT totp_enabled, totp_secret_enc FROM users WHERE id = ?").bind(t.admin.id).first();
    expect(user).toEqual({ totp_enabled: 0, totp_secret_enc: null });
    const audit = await auditStore.prepare("SELECT outcome FROM audit_logs WHERE tenant_id = ? AND action = 'MFA_DISABLED'").bind(t.id).all();
    expect(audit.results).toEqual([{ outcome: "SUCCESS" }]);
  });

  it("regenerate needs step-up and the old codes stop working", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const { recoveryCodes: oldCodes } = await enrol(h, cookie);
    expect((await h.call("/api/security/mfa/recovery-codes/regenerate", { cookie, method: "POST" })).status).toBe(428);
    const verify = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_CHANGE", recoveryCode: oldCodes[0] } });
    expect(verify.status).toBe(200);
    const regen = await h.call<CodesBody>("/api/security/mfa/recovery-codes/regenerate", { cookie, method: "POST" });
    expect(regen.status).toBe(200);
    expect(regen.body.recoveryCodes).toHaveLength(10);
    const old = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: oldCodes[1] } });
    expect(old.body.error).toBe("INVALID_OTP");
    const fresh = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: regen.body.recoveryCodes[0] } });
    expect(fresh.status).toBe(200);
  });
});

describe("a first factor needs a fresh proof of the password, in the session that gave it", () => {
  it("a first TOTP factor cannot be enrolled without a fresh password proof", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const res = await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" });
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "MFA_ENROLL", methods: ["password"] });
    const user = await env.DB.prepare("SELECT totp_pending_secret_enc, totp_enabled FROM users WHERE id = ?").bind(t.member.id).first();
    expect(user).toEqual({ totp_pending_secret_enc: null, totp_enabled: 0 });
    // A wrong password earns nothing and counts toward the step-up lockout.
    const wrong = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_ENROLL", password: "not-the-password" } });
    expect(wrong.body.error).toBe("INVALID_PASSWORD");
    expect((await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" })).status).toBe(428);
    expect((await startEnrolment(h, cookie)).status).toBe(200);
  });

  it("one password proof starts one enrolment (a second start needs a new proof)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    expect((await startEnrolment(h, cookie)).status).toBe(200);
    expect((await h.call("/api/security/mfa/totp/enroll", { cookie, method: "POST" })).status).toBe(428);
  });

  it("a pending enrolment can only be confirmed by the session that started it", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.login(t.member.email);
    const other = await h.login(t.member.email);
    const enroll = await startEnrolment(h, owner.cookie);
    const code = totpCodeAt(enroll.body.secret, h.clock.ms);
    const stolen = await h.call("/api/security/mfa/totp/confirm", { cookie: other.cookie, body: { code } });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error).toBe("NO_PENDING_ENROLLMENT");
    expect((await h.call<{ user: { totpEnabled: boolean } }>("/api/me", { cookie: other.cookie })).body.user.totpEnabled).toBe(false);
    expect((await h.call("/api/security/mfa/totp/confirm", { cookie: owner.cookie, body: { code } })).status).toBe(200);
  });

  it("an enrolment restarted in another session takes the pending secret: the first session can no longer confirm", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const a = await h.login(t.member.email);
    const b = await h.login(t.member.email);
    const first = await startEnrolment(h, a.cookie);
    expect((await startEnrolment(h, b.cookie)).status).toBe(200);
    const res = await h.call("/api/security/mfa/totp/confirm", { cookie: a.cookie, body: { code: totpCodeAt(first.body.secret, h.clock.ms) } });
    expect(res.body.error).toBe("NO_PENDING_ENROLLMENT");
  });

  it("a confirmation racing a restarted enrolment enables nothing (the batch re-checks the pending secret)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const enroll = await startEnrolment(h, cookie);
    // Another enrolment replaces the pending secret between the code check and the batch.
    const racing: D1Database = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") {
          return async (stmts: D1PreparedStatement[]) => {
            await target.prepare("UPDATE users SET totp_pending_secret_enc = 'v1.replaced.x' WHERE id = ?").bind(t.member.id).run();
            return target.batch(stmts);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: totpCodeAt(enroll.body.secret, h.clock.ms) }, env: withEnv({ DB: racing }) });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("NO_PENDING_ENROLLMENT");
    const user = await env.DB.prepare("SELECT totp_enabled, totp_secret_enc FROM users WHERE id = ?").bind(t.member.id).first();
    expect(user).toEqual({ totp_enabled: 0, totp_secret_enc: null });
  });
});

describe("sign-in with a second factor", () => {
  it("right password without a code: 401 TOTP_REQUIRED and no session", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("TOTP_REQUIRED");
    expect(res.cookie).toBeUndefined();
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE user_id = ?").bind(t.admin.id).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("wrong code: 401 INVALID_OTP; right code: signed in", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const wrong = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: "000000" } });
    expect(wrong.body.error).toBe("INVALID_OTP");
    const right = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: h.code(t.admin) } });
    expect(right.status).toBe(200);
  });

  it("a wrong password with a right code is still INVALID_CREDENTIALS (code not consumed)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const code = h.code(t.admin);
    const res = await h.call("/api/auth/login", { body: { email: t.admin.email, password: "wrong", totpCode: code } });
    expect(res.body.error).toBe("INVALID_CREDENTIALS");
    expect((await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: code } })).status).toBe(200);
  });

  it("single-use: a recovery code signs in once, and its use is audited", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const { recoveryCodes } = await enrol(h, cookie);
    const code = recoveryCodes[3] as string;
    const first = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: code.toUpperCase() } });
    expect(first.status).toBe(200);
    const second = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: code } });
    expect(second.body.error).toBe("INVALID_OTP");
    const audit = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'MFA_RECOVERY_CODE_USED'").bind(t.id).first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });

  it("a session's amr names the factors its sign-in presented: a password alone, then a one-time code, or a recovery code as some second factor", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const amrOf = async (sessionId: unknown) =>
      JSON.parse((await env.DB.prepare("SELECT metadata FROM user_sessions WHERE id = ?").bind(sessionId).first<{ metadata: string }>())?.metadata ?? "{}").amr;
    const { cookie, sessionId } = await h.login(t.member.email);
    expect(await amrOf(sessionId)).toEqual(["pwd"]);
    const withCode = await h.call("/api/auth/login", { body: { email: t.admin.email, password: PASSWORD, totpCode: h.code(t.admin) } });
    expect(await amrOf(withCode.body.sessionId)).toEqual(["pwd", "otp", "mfa"]);
    const { recoveryCodes } = await enrol(h, cookie);
    const withRecovery = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: recoveryCodes[0] } });
    expect(await amrOf(withRecovery.body.sessionId)).toEqual(["pwd", "mfa"]);
  });

  it("single-use race: one recovery code used concurrently signs in at most once (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    const { recoveryCodes } = await enrol(h, cookie);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: recoveryCodes[0] } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });
});
