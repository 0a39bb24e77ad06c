// Adding a passkey: who may start, which session may finish, how long and how often a
// challenge counts, how many a user may have, and what comes with the first one.
import { env } from "cloudflare:workers";
import { decodeAttestationObject, isoBase64URL, isoCBOR } from "@simplewebauthn/server/helpers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, seedTenant } from "./helpers";
import { addPasskey, errorOf, finishRegistration, newAuthenticator, registrationOptions, storedPasskeys } from "./passkey-fixtures";

type Challenge = { purpose: string; methods: string[] };

describe("starting a registration", () => {
  it("needs a fresh password proof (MFA_ENROLL) from a user without a second factor, and MFA_CHANGE from one who has one", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const member = await h.session(t.member);
    const first = await h.call<Challenge>("/api/security/mfa/passkeys/options", { cookie: member.cookie, body: {} });
    expect([first.status, first.body.purpose, first.body.methods]).toEqual([428, "MFA_ENROLL", ["password"]]);
    await h.stepUp(member.cookie, "MFA_ENROLL", t.member);
    expect((await h.call("/api/security/mfa/passkeys/options", { cookie: member.cookie, body: {} })).status).toBe(200);

    const admin = await h.session(t.admin);
    const replacing = await h.call<Challenge>("/api/security/mfa/passkeys/options", { cookie: admin.cookie, body: {} });
    expect([replacing.status, replacing.body.purpose]).toEqual([428, "MFA_CHANGE"]);
  });
});

describe("a registration challenge", () => {
  it("is single use: a second answer to the same options is refused with PASSKEY_CHALLENGE_USED and stores nothing", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const { cookie } = await h.session(t.member);
    const options = await registrationOptions(h, t.member, cookie);
    expect((await finishRegistration(h, cookie, await newAuthenticator().register(options))).status).toBe(201);
    const again = await finishRegistration(h, cookie, await newAuthenticator().register(options));
    expect([again.status, errorOf(again)]).toEqual([400, "PASSKEY_CHALLENGE_USED"]);
    expect((await storedPasskeys(t.member.id)).count).toBe(1);
  });

  it("is bound to the session that asked for it: another session of the same user gets PASSKEY_CHALLENGE_MISMATCH, and the asking session can still finish", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const asking = await h.session(t.member);
    const other = await h.session(t.member);
    const response = await newAuthenticator().register(await registrationOptions(h, t.member, asking.cookie));
    const refused = await finishRegistration(h, other.cookie, response);
    expect([refused.status, errorOf(refused)]).toEqual([400, "PASSKEY_CHALLENGE_MISMATCH"]);
    expect((await storedPasskeys(t.member.id)).count).toBe(0);
    expect((await finishRegistration(h, asking.cookie, response)).status).toBe(201);
  });

  it("lasts 5 minutes: an answer after that is PASSKEY_CHALLENGE_EXPIRED and stores nothing", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const { cookie } = await h.session(t.member);
    const late = await registrationOptions(h, t.member, cookie);
    const inTime = await registrationOptions(h, t.member, cookie);
    h.clock.advanceSeconds(5 * 60 - 1);
    expect((await finishRegistration(h, cookie, await newAuthenticator().register(inTime))).status).toBe(201);
    h.clock.advanceSeconds(1);
    const expired = await finishRegistration(h, cookie, await newAuthenticator().register(late));
    expect([expired.status, errorOf(expired)]).toEqual([400, "PASSKEY_CHALLENGE_EXPIRED"]);
    expect((await storedPasskeys(t.member.id)).count).toBe(1);
  });
});

describe("the registration options", () => {
  it("exclude the user's existing passkeys, so an authenticator holding one does not make a second", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const { cookie } = await h.session(t.admin);
    const laptop = newAuthenticator();
    const first = await addPasskey(h, t.admin, cookie, laptop);
    const second = await addPasskey(h, t.admin, cookie, newAuthenticator());
    const options = await registrationOptions(h, t.admin, cookie);
    expect(options.excludeCredentials?.map((d) => d.id).sort()).toEqual([first.credentialId, second.credentialId].sort());
    await expect(laptop.register(options)).rejects.toThrow(/excluded credential/);
  });
});

describe("the limit of passkeys per user", () => {
  it("is 10: the options for an 11th are 409 PASSKEY_LIMIT_REACHED, and so is an answer that would make 11", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const { cookie } = await h.session(t.admin);
    for (let i = 0; i < 9; i++) await addPasskey(h, t.admin, cookie, newAuthenticator());
    // Two registrations started at 9: the first answer makes 10, the second would make 11.
    const tenth = await registrationOptions(h, t.admin, cookie);
    const eleventh = await registrationOptions(h, t.admin, cookie);
    expect((await finishRegistration(h, cookie, await newAuthenticator().register(tenth))).status).toBe(201);
    const over = await finishRegistration(h, cookie, await newAuthenticator().register(eleventh));
    expect([over.status, errorOf(over)]).toEqual([409, "PASSKEY_LIMIT_REACHED"]);
    await h.stepUp(cookie, "MFA_CHANGE", t.admin);
    const options = await h.call("/api/security/mfa/passkeys/options", { cookie, body: {} });
    expect([options.status, options.body.error]).toEqual([409, "PASSKEY_LIMIT_REACHED"]);
    expect((await storedPasskeys(t.admin.id)).count).toBe(10);
  }, 60_000);
});

describe("the first passkey", () => {
  it("comes with recovery codes when it is the user's first factor, and a passkey added beside TOTP comes with none", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const member = await h.session(t.member);
    expect((await addPasskey(h, t.member, member.cookie, newAuthenticator())).recoveryCodes).toHaveLength(10);
    const admin = await h.session(t.admin);
    expect((await addPasskey(h, t.admin, admin.cookie, newAuthenticator())).recoveryCodes).toBeUndefined();
  });

  it("makes the password alone one factor of two: 401 SECOND_FACTOR_REQUIRED naming passkey and recovery_code, no session, and a recovery code finishes the sign-in", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const { cookie } = await h.session(t.member);
    const { recoveryCodes } = await addPasskey(h, t.member, cookie, newAuthenticator());
    const before = await sessionCount(t.member.id);
    const password = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect([password.status, password.body.error, password.body.methods]).toEqual([401, "SECOND_FACTOR_REQUIRED", ["passkey", "recovery_code"]]);
    expect(password.cookie).toBeUndefined();
    expect(await sessionCount(t.member.id)).toBe(before);
    const recovered = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD, recoveryCode: recoveryCodes?.[0] } });
    expect(recovered.status).toBe(200);
    expect(await sessionCount(t.member.id)).toBe(before + 1);
  });
});

describe("under a tenant's two-factor requirement", () => {
  // Fails today: src/tenant/enrolment-gate.ts counts TOTP alone as a second factor and lets a
  // member reach only TOTP's enrolment routes, so neither the passkey options nor the answer
  // get through (403 MFA_ENROLLMENT_REQUIRED), nor does a member whose factor is a passkey.
  // `it` once the gate asks hasSecondFactor and lets the passkey enrolment routes through.
  it("a member without a factor may enrol a passkey as their first, and with it passes the enrolment gate", async () => {
    const h = new Harness();
    const t = await seedTenant("pkr");
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "TENANT_POLICY_CHANGE", t.owner);
    expect((await h.call("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor: true } })).status).toBe(200);
    const { cookie } = await h.session(t.member);
    expect((await h.call("/api/security/sessions", { cookie })).status).toBe(403);
    expect((await addPasskey(h, t.member, cookie, newAuthenticator())).recoveryCodes).toHaveLength(10);
    expect((await h.call("/api/security/sessions", { cookie })).status).toBe(200);
  });
});

describe("an attestation statement", () => {
  // Gatehouse asks for attestation "none" and verifies none: a statement an authenticator
  // sends anyway is dropped (src/passkeys/ceremony.ts), and the X.509 code that would check
  // it is not in the bundle (src/passkeys/no-certificates.ts) — so reaching it would refuse.
  it("an authenticator sends anyway is dropped, not verified: a packed statement with a certificate chain still registers the passkey", async () => {
    const h = new Harness();
    const t = await seedTenant("pka");
    const { cookie } = await h.session(t.member);
    const answer = await newAuthenticator().register(await registrationOptions(h, t.member, cookie));
    const decoded = decodeAttestationObject(isoBase64URL.toBuffer(answer.response.attestationObject));
    const packed = new Map<string, unknown>([
      ["fmt", "packed"],
      ["attStmt", new Map<string, unknown>([["alg", -7], ["sig", new Uint8Array(70)], ["x5c", [new Uint8Array(300)]]])],
      ["authData", decoded.get("authData")],
    ]);
    const attestationObject = isoBase64URL.fromBuffer(isoCBOR.encode(packed as Parameters<typeof isoCBOR.encode>[0]));
    const res = await finishRegistration(h, cookie, { ...answer, response: { ...answer.response, attestationObject } });
    expect(res.status).toBe(201);
    expect((await storedPasskeys(t.member.id)).count).toBe(1);
  });
});

const sessionCount = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE user_id = ?").bind(userId).first<{ n: number }>())?.n ?? 0;
