import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LOGIN_ADDRESS_LIMIT, loginKeys } from "../src/auth/throttle";
import { Harness, cookieHeader, seedTenant, withEnv } from "./helpers";
import { addPasskey, auditRowsOf, errorOf, finishRegistration, finishSignIn, newAuthenticator, passkeyStepUp, registrationOptions, signInOptions, signedInWithPasskey, storedPasskeys } from "./passkey-fixtures";

describe("passkeys, end to end", () => {
  it("a member adds a passkey, signs in with it alone (both factors), and steps up with it for an admin action", async () => {
    const h = new Harness();
    const t = await seedTenant("pk");
    const auth = newAuthenticator();
    const owner = await h.session(t.owner);
    const added = await addPasskey(h, t.owner, owner.cookie, auth, { name: "Laptop" });
    expect(added.passkey).toMatchObject({ name: "Laptop", backedUp: false, lastUsedAt: null });
    // Beside TOTP: the owner's recovery codes stay as they were.
    expect(added.recoveryCodes).toBeUndefined();

    const { challengeId, options } = await signInOptions(h);
    const res = await finishSignIn(h, challengeId, await auth.authenticate(options));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const session = await env.DB.prepare("SELECT metadata FROM user_sessions WHERE id = ?").bind(res.body.sessionId).first<{ metadata: string }>();
    expect(JSON.parse(session!.metadata).amr).toEqual(["hwk", "user", "mfa"]);

    const cookie = cookieHeader(res.cookie!);
    await passkeyStepUp(h, cookie, "FORCE_LOGOUT", auth);
    const logout = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, method: "POST", body: {} });
    expect(logout.status, JSON.stringify(logout.body)).toBe(200);
    const listed = await h.call<{ passkeys: { lastUsedAt: string | null }[] }>("/api/security/mfa/passkeys", { cookie });
    expect(listed.body.passkeys[0]?.lastUsedAt).not.toBeNull();
  });
});

describe("asking for a passkey sign-in's challenge", () => {
  const ask = (h: Harness, ip: string, limiter: RateLimit | undefined) => h.call("/api/auth/passkey/options", { body: {}, ip, env: withEnv({ LOGIN_ADDRESS_LIMITER: limiter }) });

  it("counts against the address's sign-in limit: refused with 429 when the rate limiter says no, and no challenge is stored", async () => {
    const h = new Harness();
    const before = await env.DB.prepare("SELECT count(*) AS n FROM webauthn_challenges").first<{ n: number }>();
    const res = await ask(h, "198.51.100.77", { limit: async () => ({ success: false }) });
    expect([res.status, res.body.error]).toEqual([429, "TOO_MANY_ATTEMPTS"]);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM webauthn_challenges").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("is counted in D1 when there is no rate limiter: the address's 101st request in a minute is refused", async () => {
    const h = new Harness();
    const ip = "198.51.100.78";
    await env.DB.prepare("INSERT OR REPLACE INTO attempt_counters (key, failures, window_started_at) VALUES (?, ?, ?)").bind(loginKeys.address(ip), LOGIN_ADDRESS_LIMIT.maxAttempts, h.clock.ms).run();
    expect((await ask(h, ip, undefined)).status).toBe(429);
    h.clock.advanceSeconds(LOGIN_ADDRESS_LIMIT.windowSeconds + 1);
    expect((await ask(h, ip, undefined)).status).toBe(200);
  });
});


describe("a credential belongs to one account", () => {
  it("a credential id already registered (to anyone, in any tenant) is refused with 409 PASSKEY_ALREADY_REGISTERED and a FAIL row, and nothing is stored", async () => {
    const h = new Harness();
    const first = await seedTenant("pkdup");
    const second = await seedTenant("pkdup");
    const taken = await signedInWithPasskey(h, first.member);
    const member = await h.session(second.member);
    const response = await newAuthenticator().register(await registrationOptions(h, second.member, member.cookie));
    // The first tenant's member already holds this credential id.
    await env.DB.prepare("UPDATE passkeys SET credential_id = ? WHERE id = ?").bind(response.id, taken.passkey.id).run();
    const res = await finishRegistration(h, member.cookie, response);
    expect([res.status, errorOf(res)]).toEqual([409, "PASSKEY_ALREADY_REGISTERED"]);
    expect(await storedPasskeys(second.member.id)).toEqual({ rows: [], count: 0 });
    expect((await auditRowsOf(second.id, "PASSKEY_ADDED")).map((r) => [r.outcome, r.failure_reason])).toEqual([["FAIL", "PASSKEY_ALREADY_REGISTERED"]]);
  });
});
