// Signing in with a passkey alone: what the session records, and every answer refused
// (challenge, origin, RP ID, user verification, counter, credential), each with its reason.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/lib/crypto";
import { Harness, seedTenant } from "./helpers";
import { type Malformation, malformed } from "./webauthn/malformed";
import { auditRowsOf, errorOf, finishSignIn, newAuthenticator, passkeySignIn, registrationOptions, signedInWithPasskey, signInOptions, stepUpOptions } from "./passkey-fixtures";

const amrOf = async (sessionId: string) =>
  JSON.parse((await env.DB.prepare("SELECT metadata FROM user_sessions WHERE id = ?").bind(sessionId).first<{ metadata: string }>())?.metadata ?? "{}").amr;
/** The stored id of the WebAuthn challenge `challenge` (for answers sent with another ceremony's id). */
const challengeIdOf = async (challenge: string) =>
  (await env.DB.prepare("SELECT id FROM webauthn_challenges WHERE challenge_hash = ?").bind(await sha256Hex(challenge)).first<{ id: string }>())?.id ?? "";

describe("signing in with a passkey", () => {
  it("asks for a discoverable credential: the options name none, and require user verification", async () => {
    const h = new Harness();
    const { challengeId, options } = await signInOptions(h);
    expect(challengeId).toMatch(/^wac_/);
    expect(options.allowCredentials ?? []).toEqual([]);
    expect([options.rpId, options.userVerification]).toEqual(["gatehouse.test", "required"]);
  });

  it("records amr hwk, user, mfa for a device-bound passkey and swk, user, mfa for a synced one", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const bound = await signedInWithPasskey(h, t.member);
    const synced = await signedInWithPasskey(h, t.admin, { synced: true });
    const boundIn = await passkeySignIn(h, bound.auth);
    const syncedIn = await passkeySignIn(h, synced.auth);
    expect([boundIn.status, syncedIn.status]).toEqual([200, 200]);
    expect(await amrOf(boundIn.body.sessionId)).toEqual(["hwk", "user", "mfa"]);
    expect(await amrOf(syncedIn.body.sessionId)).toEqual(["swk", "user", "mfa"]);
  });

  it("is audited as LOGIN_SUCCEEDED with method passkey", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    expect((await passkeySignIn(h, auth)).status).toBe(200);
    const rows = await auditRowsOf(t.id, "LOGIN_SUCCEEDED");
    expect(JSON.parse(rows.at(-1)?.metadata ?? "{}")).toMatchObject({ method: "passkey" });
    expect(rows.at(-1)?.actor_user_id).toBe(t.member.id);
  });
});

describe("a sign-in challenge", () => {
  it("is single use: the same answer again is 401 PASSKEY_CHALLENGE_USED", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const { challengeId, options } = await signInOptions(h);
    const response = await auth.authenticate(options);
    expect((await finishSignIn(h, challengeId, response)).status).toBe(200);
    const again = await finishSignIn(h, challengeId, response);
    expect([again.status, errorOf(again), again.cookie]).toEqual([401, "PASSKEY_CHALLENGE_USED", undefined]);
  });

  it("lasts 5 minutes: an answer after that is 401 PASSKEY_CHALLENGE_EXPIRED", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const { challengeId, options } = await signInOptions(h);
    h.clock.advanceSeconds(5 * 60);
    const late = await finishSignIn(h, challengeId, await auth.authenticate(options));
    expect([late.status, errorOf(late)]).toEqual([401, "PASSKEY_CHALLENGE_EXPIRED"]);
  });

  it("must be the one its id names: an answer to one challenge sent with another's id is 401 PASSKEY_CHALLENGE_MISMATCH", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const answered = await signInOptions(h);
    const other = await signInOptions(h);
    const res = await finishSignIn(h, other.challengeId, await auth.authenticate(answered.options));
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_CHALLENGE_MISMATCH"]);
  });

  it("cannot be a step-up's or a registration's: their challenges spent on a sign-in are 401 PASSKEY_CHALLENGE_MISMATCH", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth, cookie } = await signedInWithPasskey(h, t.admin);
    const stepUp = await stepUpOptions(h, cookie, "FORCE_LOGOUT");
    const fromStepUp = await finishSignIn(h, await challengeIdOf(stepUp.challenge), await auth.authenticate(stepUp));
    expect([fromStepUp.status, errorOf(fromStepUp)]).toEqual([401, "PASSKEY_CHALLENGE_MISMATCH"]);
    const registration = await registrationOptions(h, t.admin, cookie);
    const { options } = await signInOptions(h);
    const fromRegistration = await finishSignIn(h, await challengeIdOf(registration.challenge), await auth.authenticate(options, { challenge: registration.challenge }));
    expect([fromRegistration.status, errorOf(fromRegistration)]).toEqual([401, "PASSKEY_CHALLENGE_MISMATCH"]);
  });
});

describe("a sign-in answer", () => {
  /** A member's sign-in answered with `knobs`: refused 401 with `code`, no session, and a LOGIN_FAILED row naming it. */
  async function expectRefused(knobs: Parameters<typeof passkeySignIn>[2], code: string) {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const res = await passkeySignIn(h, auth, knobs);
    expect([res.status, errorOf(res), res.cookie]).toEqual([401, code, undefined]);
    const rows = await auditRowsOf(t.id, "LOGIN_FAILED");
    expect(rows.map((r) => [r.outcome, r.failure_reason, r.actor_user_id, JSON.parse(r.metadata ?? "{}").method])).toEqual([["FAIL", code, t.member.id, "passkey"]]);
  }

  it("made on another origin is 401 PASSKEY_ORIGIN_MISMATCH, and its LOGIN_FAILED row names the reason", async () => {
    await expectRefused({ origin: "https://gatehouse.test.evil.example" }, "PASSKEY_ORIGIN_MISMATCH");
  });

  it("made for another RP ID is 401 PASSKEY_RP_ID_MISMATCH, and its LOGIN_FAILED row names the reason", async () => {
    await expectRefused({ rpId: "evil.example" }, "PASSKEY_RP_ID_MISMATCH");
  });

  it("without user verification is 401 PASSKEY_USER_NOT_VERIFIED, and its LOGIN_FAILED row names the reason", async () => {
    await expectRefused({ userVerified: false }, "PASSKEY_USER_NOT_VERIFIED");
  });

  it("whose signature counter went backwards is 401 PASSKEY_COUNTER_REGRESSED, while an authenticator that keeps no counter signs in every time", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const counting = await signedInWithPasskey(h, t.member);
    for (let i = 0; i < 2; i++) expect((await passkeySignIn(h, counting.auth)).status).toBe(200);
    const cloned = await passkeySignIn(h, counting.auth, { counter: 1 });
    expect([cloned.status, errorOf(cloned)]).toEqual([401, "PASSKEY_COUNTER_REGRESSED"]);
    const zero = await signedInWithPasskey(h, t.admin, { counterMode: "zero" });
    for (let i = 0; i < 3; i++) expect((await passkeySignIn(h, zero.auth)).status).toBe(200);
  });

  it("from a clone racing the original with the same counter is accepted at most once (Promise.all)", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const [original] = auth.credentials;
    if (!original) throw new Error("no credential");
    const clone = newAuthenticator();
    clone.adopt(original);
    const [first, second] = [await signInOptions(h), await signInOptions(h)];
    const answers = [await auth.authenticate(first.options), await clone.authenticate(second.options)];
    const results = await Promise.all([finishSignIn(h, first.challengeId, answers[0]!), finishSignIn(h, second.challengeId, answers[1]!)]);
    expect(results.map((r) => [r.status, errorOf(r) ?? null]).sort()).toEqual([[200, null], [401, "PASSKEY_COUNTER_REGRESSED"]]);
  });

  it("by a credential nobody has is 401 PASSKEY_INVALID, and spends the challenge all the same", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const { auth } = await signedInWithPasskey(h, t.member);
    const stranger = newAuthenticator();
    await stranger.register({ challenge: "c3RyYW5nZXI", rp: { id: "gatehouse.test", name: "gatehouse.test" }, user: { id: "c3RyYW5nZXI", name: "s", displayName: "s" }, pubKeyCredParams: [{ alg: -7, type: "public-key" }] });
    const { challengeId, options } = await signInOptions(h);
    const res = await finishSignIn(h, challengeId, await stranger.authenticate(options));
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_INVALID"]);
    const retry = await finishSignIn(h, challengeId, await auth.authenticate(options));
    expect([retry.status, errorOf(retry)]).toEqual([401, "PASSKEY_CHALLENGE_USED"]);
  });

  it("whose user handle is not its credential's owner's is 401 PASSKEY_INVALID", async () => {
    const h = new Harness();
    const t = await seedTenant("pks");
    const victim = await signedInWithPasskey(h, t.admin);
    const attacker = await signedInWithPasskey(h, t.member);
    const [own] = attacker.auth.credentials;
    const [victims] = victim.auth.credentials;
    if (!own || !victims) throw new Error("no credentials");
    const res = await passkeySignIn(h, attacker.auth, { credential: { ...own, userHandle: victims.userHandle } });
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_INVALID"]);
  });

  const MALFORMED: [Malformation, string][] = [
    ["truncated-authenticator-data", "PASSKEY_RESPONSE_MALFORMED"],
    ["invalid-cbor", "PASSKEY_RESPONSE_MALFORMED"],
    ["client-data-not-json", "PASSKEY_RESPONSE_MALFORMED"],
    ["not-base64url", "VALIDATION_FAILED"],
  ];
  for (const [how, code] of MALFORMED) {
    it(`malformed (${how}) is 400 ${code}, never a 500, and starts no session`, async () => {
      const h = new Harness();
      const t = await seedTenant("pks");
      const { auth } = await signedInWithPasskey(h, t.member);
      const { challengeId, options } = await signInOptions(h);
      const res = await finishSignIn(h, challengeId, malformed(await auth.authenticate(options), how));
      expect([res.status, errorOf(res), res.cookie]).toEqual([400, code, undefined]);
    });
  }
});
