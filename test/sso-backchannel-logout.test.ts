// OIDC Back-Channel Logout (src/sso/backchannel-logout.ts, src/sso/logout-token.ts): the
// identity provider's signed logout token ends the sessions its session (sid) or subject
// (sub) started through the connection, once, audited; anything else ends nothing.
//
// SSO sessions are made here by a password sign-in whose session row is then marked with
// SQL (sso_connection_id, sso_subject, sso_sid), as the SSO sign-in sets them: that
// sign-in is written separately, and the logout reads only these columns.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { runRetention } from "../src/audit/retention";
import type { Bindings } from "../src/env";
import { sha256Hex } from "../src/lib/crypto";
import { Harness, type SeededTenant, type SeededUser, d1WithBrokenAudit, d1WithChangeBeforeBatch, seedTenant, withEnv } from "./helpers";
import { BACKCHANNEL_LOGOUT_EVENT, type TestIdp, installIdp } from "./sso-idp";
import { auditStore } from "./audit-store";

const LOGOUT = "/api/auth/sso/backchannel-logout";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

type Answer = { success?: boolean; error?: string; problem?: string };

/** What the provider posts: the form, server to server (no cookie, no Origin, no Fetch Metadata). */
const postLogout = (h: Harness, token: string, options: { env?: Bindings; headers?: Record<string, string> } = {}) =>
  h.call<Answer>(LOGOUT, { method: "POST", rawBody: new URLSearchParams({ logout_token: token }).toString(), headers: { ...FORM, ...options.headers }, ...(options.env ? { env: options.env } : {}) });

/** PUT /api/tenant/sso as the tenant's owner (step-up SSO_CHANGE); the connection's id. */
async function connect(h: Harness, t: SeededTenant, idp: TestIdp, extra: Record<string, unknown> = {}): Promise<string> {
  const { cookie } = await h.session(t.owner);
  await h.stepUp(cookie, "SSO_CHANGE", t.owner);
  const res = await h.call<{ connection: { id: string } }>("/api/tenant/sso", { method: "PUT", cookie, body: idp.connectionBody([`${t.slug}.test`], extra) });
  if (res.status !== 200) throw new Error(`connection not saved: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.connection.id;
}

/** A session of `user`, marked as started through `connectionId` by the provider's `sub` and `sid` (see the header). */
async function ssoSession(h: Harness, user: SeededUser, connectionId: string | null, marks: { sub?: string; sid?: string } = {}) {
  const session = await h.session(user);
  await env.DB.prepare("UPDATE user_sessions SET sso_connection_id = ?, sso_subject = ?, sso_sid = ? WHERE id = ?")
    .bind(connectionId, marks.sub ?? null, marks.sid ?? null, session.sessionId)
    .run();
  expect((await h.call("/api/me", { cookie: session.cookie })).status).toBe(200);
  return session;
}

async function setup() {
  const h = new Harness();
  const t = await seedTenant("bcl");
  const idp = await installIdp(h.clock);
  const connectionId = await connect(h, t, idp);
  return { h, t, idp, connectionId };
}

const revocation = async (sessionId: string) =>
  env.DB.prepare("SELECT revoked_at AS revokedAt, revoke_reason AS reason FROM user_sessions WHERE id = ?").bind(sessionId).first<{ revokedAt: number | null; reason: string | null }>();

const isLive = async (sessionId: string) => (await revocation(sessionId))?.revokedAt === null;

async function logoutRows(tenantId: string) {
  const { results } = await auditStore.prepare("SELECT outcome, actor_user_id AS actor, target_type AS targetType, target_id AS targetId, failure_reason AS reason, metadata FROM audit_logs WHERE tenant_id = ? AND action = 'SSO_LOGOUT' ORDER BY seq")
    .bind(tenantId)
    .all<{ outcome: string; actor: string | null; targetType: string | null; targetId: string | null; reason: string | null; metadata: string | null }>();
  return results.map((r) => ({ ...r, metadata: JSON.parse(r.metadata ?? "null") as Record<string, unknown> | null }));
}

const jtiRemembered = async (idp: TestIdp, jti: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM sso_logout_tokens WHERE key = ?").bind(await sha256Hex(`${idp.issuer} ${jti}`)).first<{ n: number }>())?.n === 1;

describe("the provider's key set", () => {
  // Anyone can post tokens naming a real connection: each must not cost the provider a request.
  it("is fetched once for many logout tokens within five minutes, and again for a key it lacks only after thirty seconds", async () => {
    const { h, idp } = await setup();
    const keyFetches = () => idp.requests.filter((r) => r.url === `${idp.issuer}/jwks`).length;
    for (const sid of ["sid-1", "sid-2", "sid-3"]) expect((await postLogout(h, await idp.logoutToken({ sid }))).status).toBe(200);
    expect((await postLogout(h, await idp.logoutToken({ sid: "sid-4" }, {}, "unknown-kid"))).status).toBe(400);
    expect(keyFetches()).toBe(1);
    h.clock.advanceSeconds(31);
    expect((await postLogout(h, await idp.logoutToken({ sid: "sid-5" }, {}, "unknown-kid"))).status).toBe(400);
    expect(keyFetches()).toBe(2);
    h.clock.advanceSeconds(5 * 60);
    expect((await postLogout(h, await idp.logoutToken({ sid: "sid-6" }))).status).toBe(200);
    expect(keyFetches()).toBe(3);
  });
});

describe("a valid logout token ends the sessions the provider names, and only those", () => {
  it("by sid: exactly that provider session's sessions end; the member's password session and another sid's stay", async () => {
    const { h, t, idp, connectionId } = await setup();
    const named = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    const otherSid = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-b" });
    const password = await ssoSession(h, t.member, null);
    const res = await postLogout(h, await idp.logoutToken({ sid: "sid-a" }));
    expect([res.status, res.body]).toEqual([200, { success: true }]);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await revocation(named.sessionId)).toEqual({ revokedAt: h.clock.ms, reason: "SSO_LOGOUT" });
    expect([await isLive(otherSid.sessionId), await isLive(password.sessionId)]).toEqual([true, true]);
    expect((await h.call("/api/me", { cookie: otherSid.cookie })).status).toBe(200);
  });

  it("the ended session's cookie is refused on its very next request", async () => {
    const { h, t, idp, connectionId } = await setup();
    const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1", sid: "sid-a" }))).status).toBe(200);
    const next = await h.call("/api/me", { cookie: session.cookie });
    expect([next.status, next.body.error]).toEqual([401, "SESSION_REVOKED"]);
  });

  it("by sub: every session that subject started through the connection ends; another tenant's connection to the same provider, with the same subject, is untouched", async () => {
    const { h, t, idp, connectionId } = await setup();
    const other = await seedTenant("bcl-other");
    const otherConnectionId = await connect(h, other, idp, { clientId: "another-client" });
    const first = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    const second = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-b" });
    const password = await ssoSession(h, t.member, null);
    const elsewhere = await ssoSession(h, other.member, otherConnectionId, { sub: "sub-1", sid: "sid-a" });
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1" }))).status).toBe(200);
    expect([await isLive(first.sessionId), await isLive(second.sessionId)]).toEqual([false, false]);
    expect([await isLive(password.sessionId), await isLive(elsewhere.sessionId)]).toEqual([true, true]);
    expect((await h.call("/api/me", { cookie: elsewhere.cookie })).status).toBe(200);
    expect(await logoutRows(other.id)).toEqual([]);
  });

  it("by sub and sid: only that subject's sessions of that provider session end", async () => {
    const { h, t, idp, connectionId } = await setup();
    const named = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    const otherSid = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-b" });
    const otherSubject = await ssoSession(h, t.admin, connectionId, { sub: "sub-2", sid: "sid-a" });
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1", sid: "sid-a" }))).status).toBe(200);
    expect([await isLive(named.sessionId), await isLive(otherSid.sessionId), await isLive(otherSubject.sessionId)]).toEqual([false, true, true]);
  });

  it("SSO_LOGOUT is audited in the change's batch: no actor, by the identity provider, the sid and sub, the sessions ended, the member as target", async () => {
    const { h, t, idp, connectionId } = await setup();
    const named = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    const token = await idp.logoutToken({ sub: "sub-1", sid: "sid-a" });
    // The audit row cannot be written: nothing is ended, and the provider is told to retry.
    const broken = await postLogout(h, token, { env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect([broken.status, broken.body.error]).toEqual([503, "AUTH_UNAVAILABLE"]);
    expect(await isLive(named.sessionId)).toBe(true);
    expect((await postLogout(h, token)).status).toBe(200);
    expect(await logoutRows(t.id)).toEqual([
      { outcome: "SUCCESS", actor: null, targetType: "user", targetId: t.member.id, reason: null, metadata: { by: "identity-provider", sid: "sid-a", sub: "sub-1", endedSessions: [named.sessionId] } },
    ]);
  });

  it("a token naming no live session is 200, and its jti is remembered", async () => {
    const { h, t, idp } = await setup();
    const res = await postLogout(h, await idp.logoutToken({ sub: "nobody" }, { jti: "jti-none" }));
    expect([res.status, res.body]).toEqual([200, { success: true }]);
    expect(await jtiRemembered(idp, "jti-none")).toBe(true);
    expect((await logoutRows(t.id)).map((r) => [r.outcome, r.targetId, r.metadata?.endedSessions])).toEqual([["SUCCESS", null, []]]);
  });

  it("a client two tenants registered: the token ends the subject's sessions at each, with a row in each tenant's log", async () => {
    const { h, t, idp, connectionId } = await setup();
    const other = await seedTenant("bcl-twin");
    const twinId = await connect(h, other, idp);
    const here = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
    const there = await ssoSession(h, other.member, twinId, { sub: "sub-1" });
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1" }))).status).toBe(200);
    expect([await isLive(here.sessionId), await isLive(there.sessionId)]).toEqual([false, false]);
    expect((await logoutRows(t.id)).map((r) => r.metadata?.endedSessions)).toEqual([[here.sessionId]]);
    expect((await logoutRows(other.id)).map((r) => r.metadata?.endedSessions)).toEqual([[there.sessionId]]);
  });
});

describe("a logout token acts once", () => {
  it("a replayed jti is 400 SSO_LOGOUT_TOKEN_REPLAYED, ends nothing more, and is audited FAIL", async () => {
    const { h, t, idp, connectionId } = await setup();
    await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
    const token = await idp.logoutToken({ sub: "sub-1" }, { jti: "jti-once" });
    expect((await postLogout(h, token)).status).toBe(200);
    const later = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-b" });
    const replay = await postLogout(h, token);
    expect([replay.status, replay.body.error]).toEqual([400, "SSO_LOGOUT_TOKEN_REPLAYED"]);
    expect(await isLive(later.sessionId)).toBe(true);
    expect((await logoutRows(t.id)).map((r) => [r.outcome, r.reason])).toEqual([["SUCCESS", null], ["FAIL", "SSO_LOGOUT_TOKEN_REPLAYED"]]);
  });

  it("of two deliveries racing, the one whose batch meets the other's jti ends nothing and is 400 SSO_LOGOUT_TOKEN_REPLAYED", async () => {
    const { h, t, idp, connectionId } = await setup();
    const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
    const key = await sha256Hex(`${idp.issuer} jti-race`);
    const racing = d1WithChangeBeforeBatch(env.DB, /insert into "sso_logout_tokens"/i, () =>
      env.DB.prepare("INSERT INTO sso_logout_tokens (key, expires_at) VALUES (?, ?)").bind(key, h.clock.ms + 600_000).run(),
    );
    const res = await postLogout(h, await idp.logoutToken({ sub: "sub-1" }, { jti: "jti-race" }), { env: withEnv({ DB: racing }) });
    expect([res.status, res.body.error]).toEqual([400, "SSO_LOGOUT_TOKEN_REPLAYED"]);
    expect(await isLive(session.sessionId)).toBe(true);
    expect((await logoutRows(t.id)).map((r) => [r.outcome, r.reason])).toEqual([["FAIL", "SSO_LOGOUT_TOKEN_REPLAYED"]]);
  });

  it("the scheduled housekeeping forgets a jti once its token could no longer be accepted", async () => {
    const { h, idp } = await setup();
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1" }, { jti: "jti-old" }))).status).toBe(200);
    await runRetention(env, h.clock.ms + 119_000);
    expect(await jtiRemembered(idp, "jti-old")).toBe(true);
    await runRetention(env, h.clock.ms + 181_000);
    expect(await jtiRemembered(idp, "jti-old")).toBe(false);
  });
});

const nowSeconds = (idp: TestIdp) => Math.floor(idp.clock.ms / 1000);

/** A token signed HS256 with the client secret as the key: the classic algorithm confusion. */
async function hs256Token(idp: TestIdp): Promise<string> {
  const now = nowSeconds(idp);
  return new SignJWT({ iss: idp.issuer, aud: idp.clientId, iat: now, exp: now + 120, jti: "jti-hs", sub: "sub-1", events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
    .setProtectedHeader({ alg: "HS256", kid: idp.kid, typ: "logout+jwt" })
    .sign(new TextEncoder().encode(idp.clientSecret));
}

/** A token the connection's checks refuse: 400 with `problem`, nothing ended, a FAIL row in the tenant, and no-store. */
async function expectRefused(tokenOf: (idp: TestIdp) => Promise<string>, problem: RegExp) {
  const { h, t, idp, connectionId } = await setup();
  const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1", sid: "sid-a" });
  const res = await postLogout(h, await tokenOf(idp));
  expect([res.status, res.body.error]).toEqual([400, "SSO_LOGOUT_TOKEN_INVALID"]);
  expect(res.body.problem).toMatch(problem);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(await isLive(session.sessionId)).toBe(true);
  expect((await logoutRows(t.id)).map((r) => [r.outcome, r.actor, r.targetType, r.targetId, r.reason, r.metadata?.problem])).toEqual([["FAIL", null, "sso_connection", connectionId, "SSO_LOGOUT_TOKEN_INVALID", res.body.problem]]);
}

/** A token of the provider whose issuer or audience is not the connection's: no connection, so no tenant hears of it. */
async function expectNoConnection(claims: Record<string, unknown>) {
  const { h, t, idp, connectionId } = await setup();
  const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
  const res = await postLogout(h, await idp.logoutToken({ sub: "sub-1" }, claims));
  expect([res.status, res.body.error, res.body.problem]).toEqual([400, "SSO_LOGOUT_TOKEN_INVALID", "no single sign-on connection has its issuer and audience"]);
  expect(await isLive(session.sessionId)).toBe(true);
  expect(await logoutRows(t.id)).toEqual([]);
}

describe("a token that is not a valid logout token for the connection ends nothing, and is audited FAIL in the tenant", () => {
  it("a token signed by the forger's key under the provider's kid is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, {}, "forger"), /signature does not verify/));
  it("a token signed by a key the provider's key set does not have is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, {}, "unknown-kid"), /no single key/));
  it("an unsigned token (alg none) is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, {}, "none"), /algorithm/));
  it("a token signed HS256 with the client secret is refused", () => expectRefused(hs256Token, /algorithm/));
  it("a token carrying a nonce, as an ID token does, is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { nonce: "n-1" }), /nonce/));
  it("a token without an events claim is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { events: undefined }), /no events claim/));
  it("a token whose events claim lacks the back-channel logout event is refused", () =>
    expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { events: { "https://example.test/other-event": {} } }), /member that is an object/));
  it("a token whose back-channel logout event is not an object is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { events: { [BACKCHANNEL_LOGOUT_EVENT]: true } }), /member that is an object/));
  it("a token naming neither sub nor sid is refused", () => expectRefused((idp) => idp.logoutToken({}), /neither sub nor sid/));
  it("an expired token (exp past, beyond the skew) is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { exp: nowSeconds(idp) - 61 }), /expired/));
  it("a token issued in the future, beyond the skew, is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { iat: nowSeconds(idp) + 61 }), /issued in the future/));
  it("a token issued more than ten minutes ago is refused, even without exp", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { iat: nowSeconds(idp) - 661, exp: undefined }), /seconds ago/));
  it("a token without iat is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { iat: undefined }), /no iat claim/));
  it("a token without jti is refused", () => expectRefused((idp) => idp.logoutToken({ sub: "sub-1" }, { jti: undefined }), /jti/));

  it("a token of another issuer names no connection: 400, nothing ended, no tenant's log written", () => expectNoConnection({ iss: "https://elsewhere.example.test" }));
  it("a token for another audience names no connection: 400, nothing ended, no tenant's log written", () => expectNoConnection({ aud: "another-client" }));

  it("a refused token for a client two tenants registered is audited FAIL in each tenant's log", async () => {
    const { h, t, idp } = await setup();
    const other = await seedTenant("bcl-twin");
    await connect(h, other, idp);
    const res = await postLogout(h, await idp.logoutToken({ sub: "sub-1" }, {}, "forger"));
    expect([res.status, res.body.error]).toEqual([400, "SSO_LOGOUT_TOKEN_INVALID"]);
    for (const tenant of [t, other]) expect((await logoutRows(tenant.id)).map((r) => [r.outcome, r.reason])).toEqual([["FAIL", "SSO_LOGOUT_TOKEN_INVALID"]]);
  });

  it("an audience list naming the connection's client among others is accepted", async () => {
    const { h, t, idp, connectionId } = await setup();
    const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
    expect((await postLogout(h, await idp.logoutToken({ sub: "sub-1" }, { aud: ["another-client", idp.clientId] }))).status).toBe(200);
    expect(await isLive(session.sessionId)).toBe(false);
  });

  it("the provider's key set unreachable is 503 AUTH_UNAVAILABLE, fail closed: nothing ended, the jti not spent, the provider's retry succeeds", async () => {
    const { h, t, idp, connectionId } = await setup();
    const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
    const token = await idp.logoutToken({ sub: "sub-1" }, { jti: "jti-retry" });
    idp.down.add("jwks");
    const res = await postLogout(h, token);
    expect([res.status, res.body.error]).toEqual([503, "AUTH_UNAVAILABLE"]);
    expect(await isLive(session.sessionId)).toBe(true);
    expect(await jtiRemembered(idp, "jti-retry")).toBe(false);
    idp.down.delete("jwks");
    expect((await postLogout(h, token)).status).toBe(200);
    expect(await isLive(session.sessionId)).toBe(false);
  });
});

describe("the endpoint takes the provider's form post, and nothing else", () => {
  it("a body without logout_token, or JSON, is 400 VALIDATION_FAILED; a body over the API's limit is 413", async () => {
    const { h, idp } = await setup();
    const token = await idp.logoutToken({ sub: "sub-1" });
    const empty = await h.call(LOGOUT, { method: "POST", rawBody: "token=x", headers: FORM });
    expect([empty.status, empty.body.error]).toEqual([400, "VALIDATION_FAILED"]);
    const json = await h.call(LOGOUT, { method: "POST", body: { logout_token: token } });
    expect([json.status, json.body.error]).toEqual([400, "VALIDATION_FAILED"]);
    const huge = await h.call(LOGOUT, { method: "POST", rawBody: `logout_token=${token}&pad=${"x".repeat(70 * 1024)}`, headers: FORM });
    expect([huge.status, huge.body.error]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });

  it("the CSRF guard lets the provider's server-to-server post through and still refuses a browser's cross-site post", async () => {
    const { h, t, idp, connectionId } = await setup();
    const session = await ssoSession(h, t.member, connectionId, { sub: "sub-1" });
    const token = await idp.logoutToken({ sub: "sub-1" });
    const crossSite = await postLogout(h, token, { headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    expect([crossSite.status, crossSite.body.error]).toEqual([403, "CSRF"]);
    expect(await isLive(session.sessionId)).toBe(true);
    expect((await postLogout(h, token)).status).toBe(200);
    expect(await isLive(session.sessionId)).toBe(false);
  });
});
