// Passkeys fail closed: a store that cannot be read or written denies with 503
// AUTH_UNAVAILABLE (never a 500, never a pass), and a passkey is added only with its audit row.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Harness, d1WithBrokenAudit, d1WithTableGone, seedTenant, withEnv } from "./helpers";
import { errorOf, finishRegistration, finishSignIn, newAuthenticator, registrationOptions, signInOptions, signedInWithPasskey, storedPasskeys, stepUpOptions } from "./passkey-fixtures";

afterEach(() => vi.restoreAllMocks());
const quiet = () => vi.spyOn(console, "error").mockImplementation(() => undefined);

describe("passkeys fail closed", () => {
  it("a passkey sign-in whose challenge store cannot be read is 503 AUTH_UNAVAILABLE, and no session starts", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const { auth } = await signedInWithPasskey(h, t.member);
    const { challengeId, options } = await signInOptions(h);
    quiet();
    const res = await finishSignIn(h, challengeId, await auth.authenticate(options), { env: withEnv({ DB: d1WithTableGone(env.DB, "webauthn_challenges") }) });
    expect([res.status, errorOf(res), res.cookie]).toEqual([503, "AUTH_UNAVAILABLE", undefined]);
  });

  it("a passkey sign-in whose passkeys cannot be read is 503 AUTH_UNAVAILABLE, and no session starts", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const { auth } = await signedInWithPasskey(h, t.member);
    const { challengeId, options } = await signInOptions(h);
    quiet();
    const res = await finishSignIn(h, challengeId, await auth.authenticate(options), { env: withEnv({ DB: d1WithTableGone(env.DB, "passkeys") }) });
    expect([res.status, errorOf(res), res.cookie]).toEqual([503, "AUTH_UNAVAILABLE", undefined]);
  });

  it("asking for a passkey challenge when it cannot be stored is 503 AUTH_UNAVAILABLE, for sign-in and step-up alike", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const { cookie } = await signedInWithPasskey(h, t.member);
    quiet();
    const gone = withEnv({ DB: d1WithTableGone(env.DB, "webauthn_challenges"), LOGIN_ADDRESS_LIMITER: undefined });
    const signIn = await h.call("/api/auth/passkey/options", { body: {}, env: gone });
    const stepUp = await h.call("/api/security/stepup/options", { cookie, body: { purpose: "REVOKE_SESSION" }, env: gone });
    expect([signIn.status, errorOf(signIn), stepUp.status, errorOf(stepUp)]).toEqual([503, "AUTH_UNAVAILABLE", 503, "AUTH_UNAVAILABLE"]);
  });

  it("a passkey step-up whose challenge store cannot be read is 503 AUTH_UNAVAILABLE, and no grant is made", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.member);
    const answer = await auth.authenticate(await stepUpOptions(h, cookie, "REVOKE_SESSION"));
    quiet();
    const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "REVOKE_SESSION", passkey: answer }, env: withEnv({ DB: d1WithTableGone(env.DB, "webauthn_challenges") }) });
    expect([res.status, errorOf(res)]).toEqual([503, "AUTH_UNAVAILABLE"]);
    const grants = await env.DB.prepare("SELECT count(*) AS n FROM stepup_challenges WHERE session_id = ? AND method = 'passkey'").bind(sessionId).first<{ n: number }>();
    expect(grants?.n).toBe(0);
  });

  it("a passkey step-up whose passkeys cannot be read is 503 AUTH_UNAVAILABLE, and no grant is made", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.member);
    const answer = await auth.authenticate(await stepUpOptions(h, cookie, "REVOKE_SESSION"));
    quiet();
    const res = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "REVOKE_SESSION", passkey: answer }, env: withEnv({ DB: d1WithTableGone(env.DB, "passkeys") }) });
    expect([res.status, errorOf(res)]).toEqual([503, "AUTH_UNAVAILABLE"]);
    const grants = await env.DB.prepare("SELECT count(*) AS n FROM stepup_challenges WHERE session_id = ? AND method = 'passkey'").bind(sessionId).first<{ n: number }>();
    expect(grants?.n).toBe(0);
  });

  it("a passkey is added only together with its PASSKEY_ADDED audit row: an unwritable audit log stores no passkey", async () => {
    const h = new Harness();
    const t = await seedTenant("pkfc");
    const member = await h.session(t.member);
    const response = await newAuthenticator().register(await registrationOptions(h, t.member, member.cookie));
    quiet();
    const res = await finishRegistration(h, member.cookie, response, undefined, { env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect(res.status).toBe(500);
    expect(await storedPasskeys(t.member.id)).toEqual({ rows: [], count: 0 });
  });
});
