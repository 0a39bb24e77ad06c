// A passkey sign-in meets the rules a password sign-in meets (src/auth/sign-in.ts's steps):
// a disabled member or tenant, the tenant's IP rules, the sign-in throttles, and the one
// lockout every second factor shares.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";
import { auditRowsOf, errorOf, passkeySignIn, signedInWithPasskey } from "./passkey-fixtures";

const BLOCKED = "198.51.100.7";

describe("a passkey sign-in, like a password sign-in", () => {
  it("is refused for a disabled member with 403 USER_DISABLED and no session", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth } = await signedInWithPasskey(h, t.member);
    const admin = await h.signIn(t.admin);
    await h.stepUp(admin.cookie, "USER_ACCESS_CHANGE", t.admin);
    expect((await h.call(`/api/users/${t.member.id}/disable`, { cookie: admin.cookie, body: {} })).status).toBe(200);
    const res = await passkeySignIn(h, auth);
    expect([res.status, errorOf(res), res.cookie]).toEqual([403, "USER_DISABLED", undefined]);
  });

  it("is refused for a member of a disabled tenant with 403 TENANT_DISABLED and no session", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth } = await signedInWithPasskey(h, t.member);
    await env.DB.prepare("UPDATE tenants SET disabled_at = ? WHERE id = ?").bind(h.clock.ms, t.id).run();
    const res = await passkeySignIn(h, auth);
    expect([res.status, errorOf(res), res.cookie]).toEqual([403, "TENANT_DISABLED", undefined]);
  });

  it("is refused from an address the tenant's IP rules block, whether the answer was right or not", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth } = await signedInWithPasskey(h, t.member);
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    h.clock.advanceSeconds(1); // past this isolate's copy of the tenant's rules
    const right = await passkeySignIn(h, auth, {}, { ip: BLOCKED });
    const wrong = await passkeySignIn(h, auth, { userVerified: false }, { ip: BLOCKED });
    expect([right.status, errorOf(right), right.cookie]).toEqual([403, "IP_BLOCKED", undefined]);
    expect([wrong.status, errorOf(wrong)]).toEqual([403, "IP_BLOCKED"]);
  });

  it("from a blocked address spends none of the member's factor lockout: five refused answers from it, then a right passkey elsewhere signs in", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth } = await signedInWithPasskey(h, t.member);
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    h.clock.advanceSeconds(1); // past this isolate's copy of the tenant's rules
    for (let i = 0; i < 5; i++) expect(errorOf(await passkeySignIn(h, auth, { userVerified: false }, { ip: BLOCKED }))).toBe("IP_BLOCKED");
    const lockout = await env.DB.prepare("SELECT failures FROM attempt_counters WHERE key = ?").bind(`otp:${t.member.id}`).first<{ failures: number }>();
    expect(lockout?.failures ?? 0).toBe(0);
    expect((await passkeySignIn(h, auth)).status).toBe(200);
  });

  it("counts towards the sign-in throttles: after 10 wrong passwords from an address, the member's right passkey from it is 429", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth } = await signedInWithPasskey(h, t.member);
    for (let i = 0; i < 10; i++) {
      expect((await h.call("/api/auth/login", { body: { email: t.member.email, password: `wrong ${PASSWORD}` } })).status).toBe(401);
    }
    const res = await passkeySignIn(h, auth);
    expect([res.status, errorOf(res), res.cookie]).toEqual([429, "TOO_MANY_ATTEMPTS", undefined]);
  });
});

describe("failed passkey attempts", () => {
  it("count towards the same lockout as wrong TOTP codes: after 5 failures, mixed, a right passkey and a right code are both 429", async () => {
    const h = new Harness();
    const t = await seedTenant("pkl");
    const { auth, cookie } = await signedInWithPasskey(h, t.admin);
    for (let i = 0; i < 3; i++) {
      expect(errorOf(await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: "000000" } }))).toBe("INVALID_OTP");
    }
    for (let i = 0; i < 2; i++) expect(errorOf(await passkeySignIn(h, auth, { origin: "https://gatehouse.test.evil.example" }))).toBe("PASSKEY_ORIGIN_MISMATCH");
    const passkey = await passkeySignIn(h, auth);
    expect([passkey.status, errorOf(passkey), passkey.cookie]).toEqual([429, "TOO_MANY_ATTEMPTS", undefined]);
    h.clock.advanceSeconds(30);
    const code = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    expect([code.status, code.body.error]).toEqual([429, "TOO_MANY_ATTEMPTS"]);
    expect((await auditRowsOf(t.id, "LOGIN_FAILED")).map((r) => r.failure_reason)).toEqual(["PASSKEY_ORIGIN_MISMATCH", "PASSKEY_ORIGIN_MISMATCH", "LOCKED_OUT"]);
  });
});
