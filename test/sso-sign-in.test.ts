// Signing in through the tenant's identity provider (src/sso/sign-in-routes.ts): the flow
// (state, nonce, PKCE, the browser binding), the member it names, and a normal session.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, type SeededTenant, seedTenant } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";
import { SESSION } from "./snapshot-fixtures";
import { type IdpUser, type TestIdp, followCallback, installIdp, seedConnection, ssoSignIn, startSso } from "./sso-idp";
import { auditStore } from "./audit-store";

const domainOf = (t: SeededTenant) => `${t.slug}.test`;
const asUser = (email: string, extra: Partial<IdpUser> = {}): IdpUser => ({ sub: `sub-${email}`, email, name: "Ada Lovelace", sid: "idp-session-1", ...extra });

async function ssoTenant(options: { jitProvisioning?: boolean; defaultRole?: "member" | "admin" } = {}) {
  const h = new Harness();
  const t = await seedTenant("sso");
  const idp = await installIdp(h.clock);
  const connectionId = await seedConnection(t.id, idp, { domains: [domainOf(t)], ...options });
  return { h, t, idp, connectionId };
}

type Failure = { outcome: string; failure_reason: string | null; actor_user_id: string | null };
const failures = async (tenantId: string) =>
  (await auditStore.prepare("SELECT outcome, failure_reason, actor_user_id FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED' ORDER BY seq").bind(tenantId).all<Failure>()).results;

const sessionsOf = async (userId: string) =>
  (await env.DB.prepare("SELECT id, sso_connection_id, sso_subject, sso_sid, metadata FROM user_sessions WHERE user_id = ?").bind(userId).all<Record<string, string | null>>()).results;

/** The refusal as a browser sees it (302 to sign-in with the code) and as JSON, and its audit row. */
async function expectRefusedAtCallback(h: Harness, idp: TestIdp, t: SeededTenant, user: IdpUser, code: string, reason: string) {
  const { callback, location } = await ssoSignIn(h, idp, user);
  expect([callback.status, location]).toEqual([302, `/_gatehouse/sign-in?ssoError=${code}`]);
  expect(callback.headers.getSetCookie().some((c) => c.startsWith(SESSION))).toBe(false);
  expect((await failures(t.id)).at(-1)).toMatchObject({ outcome: "FAIL", failure_reason: reason });
}

describe("signing in through the provider", () => {
  it("a member of an SSO domain signs in: a normal session whose amr is the provider's plus fed, naming the connection, sub and sid, then a 302 to returnTo", async () => {
    const { h, t, idp, connectionId } = await ssoTenant();
    const { callback, jar, location } = await ssoSignIn(h, idp, asUser(t.member.email, { amr: ["pwd", "mfa", "not-registered"] }), { returnTo: "/notes?id=7" });
    expect([callback.status, location]).toEqual([302, "/notes?id=7"]);
    const [session] = await sessionsOf(t.member.id);
    expect(session).toMatchObject({ sso_connection_id: connectionId, sso_subject: `sub-${t.member.email}`, sso_sid: "idp-session-1" });
    expect(JSON.parse(session?.metadata ?? "{}")).toEqual({ amr: ["pwd", "mfa", "fed"] });
    const me = await h.call<{ user: { id: string } }>("/api/me", { cookie: jar.header });
    expect(me.body.user.id).toBe(t.member.id);
    const listed = await h.call<{ sessions: { id: string; current: boolean }[] }>("/api/security/sessions", { cookie: jar.header });
    expect(listed.body.sessions.find((s) => s.current)?.id).toBe(session?.id);
    const linked = await env.DB.prepare("SELECT user_id FROM sso_identities WHERE connection_id = ? AND subject = ?").bind(connectionId, `sub-${t.member.email}`).first<{ user_id: string }>();
    expect(linked?.user_id).toBe(t.member.id);
    const row = await auditStore.prepare("SELECT metadata FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_SUCCEEDED'").bind(t.id).first<{ metadata: string }>();
    expect(JSON.parse(row?.metadata ?? "{}")).toMatchObject({ method: "sso", ssoConnectionId: connectionId, provisioned: false });
  });

  it("Gatehouse asks for no second factor of its own after the provider's sign-in: an owner with TOTP is signed in without a code", async () => {
    const { h, t, idp } = await ssoTenant();
    const { location, jar } = await ssoSignIn(h, idp, asUser(t.owner.email, { amr: ["pwd"] }));
    expect(location).toBe("/");
    expect((await h.call("/api/me", { cookie: jar.header })).status).toBe(200);
    const [session] = await sessionsOf(t.owner.id);
    expect(JSON.parse(session?.metadata ?? "{}")).toEqual({ amr: ["pwd", "fed"] });
  });

  it("the start sends the browser to the provider with the code flow, PKCE S256, a state and a nonce; only their hashes are stored, and the binding cookie is __Host-, HttpOnly and SameSite=Lax", async () => {
    const { h, t, idp } = await ssoTenant();
    const { res, location } = await startSso(h, { email: t.member.email });
    expect(res.status).toBe(302);
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/authorize`);
    const p = url.searchParams;
    expect(Object.fromEntries(["response_type", "client_id", "redirect_uri", "code_challenge_method", "login_hint"].map((k) => [k, p.get(k)]))).toEqual({
      response_type: "code",
      client_id: idp.clientId,
      redirect_uri: "https://gatehouse.test/_gatehouse/api/auth/sso/callback",
      code_challenge_method: "S256",
      login_hint: t.member.email,
    });
    const [state, nonce, challenge] = ["state", "nonce", "code_challenge"].map((k) => p.get(k) ?? "") as [string, string, string];
    expect([state.length, nonce.length, challenge.length].every((n) => n >= 43)).toBe(true);
    const stored = JSON.stringify(await env.DB.prepare("SELECT * FROM sso_flows WHERE tenant_id = ?").bind(t.id).all());
    for (const secret of [state, nonce]) expect(stored).not.toContain(secret);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-gatehouse_sso=")) ?? "";
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Max-Age=600/i);
  });

  it("returnTo is sanitised: another origin, a protocol-relative path or a backslash trick lands on /", async () => {
    const { h, t, idp } = await ssoTenant();
    for (const returnTo of ["https://evil.example/", "//evil.example", "/\\evil.example"]) {
      const { location } = await ssoSignIn(h, idp, asUser(t.member.email), { returnTo });
      expect(location, returnTo).toBe("/");
    }
  });

  it("a start by the organisation's slug works the same; an email or slug without a connection is 404 SSO_NOT_CONFIGURED", async () => {
    const { h, t, idp } = await ssoTenant();
    const started = await startSso(h, { tenant: t.slug });
    expect(started.res.status).toBe(302);
    const callback = await followCallback(h, await idp.authorize(started.location, asUser(t.member.email)), started.jar);
    expect(callback.status).toBe(302);
    const none = await startSso(h, { email: "someone@nowhere.test", accept: "json" });
    expect([none.res.status, (none.res.body as { error: string }).error]).toEqual([404, "SSO_NOT_CONFIGURED"]);
    const bySlug = await startSso(h, { tenant: "no-such-tenant", accept: "html" });
    expect(bySlug.location).toBe("/_gatehouse/sign-in?ssoError=SSO_NOT_CONFIGURED");
  });

  it("discover tells the sign-in page whether an email's domain signs in through a provider, and where to start", async () => {
    const { h, t } = await ssoTenant();
    const yes = await h.call(`/api/auth/sso/discover?email=${encodeURIComponent(t.member.email.toUpperCase())}`);
    expect(yes.body).toEqual({ sso: true, startUrl: `https://gatehouse.test/_gatehouse/api/auth/sso/start?email=${encodeURIComponent(t.member.email)}` });
    expect((await h.call("/api/auth/sso/discover?email=someone%40nowhere.test")).body).toEqual({ sso: false });
    expect((await h.call("/api/auth/sso/discover?email=not-an-email")).status).toBe(400);
  });
});

describe("the flow is single use, ten minutes, and this browser's", () => {
  it("a callback replayed after it was used is refused SSO_FLOW_INVALID (used), and no second session starts", async () => {
    const { h, t, idp } = await ssoTenant();
    const { callbackUrl, jar } = await ssoSignIn(h, idp, asUser(t.member.email));
    const replay = await followCallback(h, callbackUrl, jar);
    expect(replay.headers.get("location")).toBe("/_gatehouse/sign-in?ssoError=SSO_FLOW_INVALID");
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("SSO_USED");
    expect(await sessionsOf(t.member.id)).toHaveLength(1);
  });

  it("a callback delivered to another browser (login CSRF) is refused SSO_FLOW_INVALID (another browser), and the flow is left to its own browser", async () => {
    const { h, t, idp } = await ssoTenant();
    const started = await startSso(h, { email: t.member.email });
    const callbackUrl = await idp.authorize(started.location, asUser(t.member.email));
    const victim = await startSso(h, { email: t.member.email });
    const elsewhere = await followCallback(h, callbackUrl, victim.jar, { accept: "json" });
    expect([elsewhere.status, (elsewhere.body as { error: string }).error]).toEqual([400, "SSO_FLOW_INVALID"]);
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("SSO_OTHER_BROWSER");
    const noCookie = await h.call(`${new URL(callbackUrl).pathname}${new URL(callbackUrl).search}`);
    expect(noCookie.status).toBe(400);
    expect(await sessionsOf(t.member.id)).toHaveLength(0);
    expect((await followCallback(h, callbackUrl, started.jar)).headers.get("location")).toBe("/");
  });

  it("a callback more than ten minutes after the start is refused SSO_FLOW_INVALID (expired)", async () => {
    const { h, t, idp } = await ssoTenant();
    const started = await startSso(h, { email: t.member.email });
    const callbackUrl = await idp.authorize(started.location, asUser(t.member.email));
    h.clock.advanceSeconds(601);
    expect((await followCallback(h, callbackUrl, started.jar)).headers.get("location")).toBe("/_gatehouse/sign-in?ssoError=SSO_FLOW_INVALID");
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("SSO_EXPIRED");
  });

  it("an unknown state is refused SSO_FLOW_INVALID, as JSON for a client that does not accept HTML", async () => {
    const { h } = await ssoTenant();
    const res = await h.call("/_gatehouse/api/auth/sso/callback?state=made-up&code=x", { headers: { accept: "application/json" } });
    expect([res.status, res.body.error]).toEqual([400, "SSO_FLOW_INVALID"]);
  });

  it("the provider answering the sign-in with an error is refused SSO_PROVIDER_REFUSED", async () => {
    const { h, t } = await ssoTenant();
    const started = await startSso(h, { email: t.member.email });
    const state = new URL(started.location).searchParams.get("state") ?? "";
    const res = await followCallback(h, `https://gatehouse.test/_gatehouse/api/auth/sso/callback?error=access_denied&state=${state}`, started.jar);
    expect(res.headers.get("location")).toBe("/_gatehouse/sign-in?ssoError=SSO_PROVIDER_REFUSED");
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("SSO_PROVIDER_ERROR");
  });
});

describe("the member the provider names", () => {
  it("an email the provider does not say is verified is refused SSO_EMAIL_NOT_VERIFIED", async () => {
    const { h, t, idp } = await ssoTenant();
    await expectRefusedAtCallback(h, idp, t, asUser(t.member.email, { email_verified: false }), "SSO_EMAIL_NOT_VERIFIED", "SSO_EMAIL_NOT_VERIFIED");
  });

  it("Entra ID's xms_edov: true stands for email_verified only where the token has none: it signs in, while xms_edov false, or an explicit email_verified: false, is refused", async () => {
    const { h, t, idp } = await ssoTenant();
    idp.claims = { email_verified: undefined, xms_edov: false };
    await expectRefusedAtCallback(h, idp, t, asUser(t.member.email), "SSO_EMAIL_NOT_VERIFIED", "SSO_EMAIL_NOT_VERIFIED");
    idp.claims = { email_verified: false, xms_edov: true };
    await expectRefusedAtCallback(h, idp, t, asUser(t.member.email), "SSO_EMAIL_NOT_VERIFIED", "SSO_EMAIL_NOT_VERIFIED");
    idp.claims = { email_verified: undefined, xms_edov: true };
    const { callback } = await ssoSignIn(h, idp, asUser(t.member.email));
    expect([callback.status, callback.headers.get("location")]).toEqual([302, "/"]);
    expect(await sessionsOf(t.member.id)).toHaveLength(1);
  });

  it("an email outside the connection's domains is refused SSO_DOMAIN_MISMATCH", async () => {
    const { h, t, idp } = await ssoTenant();
    const started = await startSso(h, { email: t.member.email });
    const callbackUrl = await idp.authorize(started.location, asUser("someone@elsewhere.test"));
    expect((await followCallback(h, callbackUrl, started.jar)).headers.get("location")).toBe("/_gatehouse/sign-in?ssoError=SSO_DOMAIN_MISMATCH");
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("SSO_DOMAIN_MISMATCH");
  });

  it("without JIT provisioning an email with no member is refused 403 SSO_USER_NOT_PROVISIONED, and nobody is created", async () => {
    const { h, t, idp } = await ssoTenant();
    await expectRefusedAtCallback(h, idp, t, asUser(`new.person@${domainOf(t)}`), "SSO_USER_NOT_PROVISIONED", "SSO_USER_NOT_PROVISIONED");
    expect(await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(`new.person@${domainOf(t)}`).first()).toBeNull();
  });

  it("with JIT provisioning an email with no member creates one with the connection's default role, linked, and the next sign-in finds the same member", async () => {
    const { h, t, idp } = await ssoTenant({ jitProvisioning: true, defaultRole: "admin" });
    const email = `new.person@${domainOf(t)}`;
    const first = await ssoSignIn(h, idp, asUser(email));
    expect(first.location).toBe("/");
    const created = await env.DB.prepare("SELECT id, role, display_name, tenant_id FROM users WHERE email = ?").bind(email).first<{ id: string; role: string; display_name: string; tenant_id: string }>();
    expect(created).toMatchObject({ role: "admin", display_name: "Ada Lovelace", tenant_id: t.id });
    const row = await auditStore.prepare("SELECT metadata FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_SUCCEEDED'").bind(t.id).first<{ metadata: string }>();
    expect(JSON.parse(row?.metadata ?? "{}")).toMatchObject({ method: "sso", provisioned: true });
    await ssoSignIn(h, idp, asUser(email));
    expect(await sessionsOf(created?.id ?? "")).toHaveLength(2);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?").bind(email).first<{ n: number }>())?.n).toBe(1);
  });

  it("a disabled member is refused USER_DISABLED", async () => {
    const { h, t, idp } = await ssoTenant();
    await env.DB.prepare("UPDATE users SET disabled_at = ? WHERE id = ?").bind(h.clock.ms, t.member.id).run();
    await expectRefusedAtCallback(h, idp, t, asUser(t.member.email), "USER_DISABLED", "USER_DISABLED");
  });

  it("a member of a disabled tenant is refused TENANT_DISABLED", async () => {
    const { h, t, idp } = await ssoTenant();
    await env.DB.prepare("UPDATE tenants SET disabled_at = ? WHERE id = ?").bind(h.clock.ms, t.id).run();
    await expectRefusedAtCallback(h, idp, t, asUser(t.member.email), "TENANT_DISABLED", "TENANT_DISABLED");
  });

  it("the tenant's IP rules apply: a blocked address is refused IP_BLOCKED", async () => {
    const { h, t, idp } = await ssoTenant();
    await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { callback, location } = await ssoSignIn(h, idp, asUser(t.member.email), { ip: "198.51.100.7" });
    expect([callback.status, location]).toEqual([302, "/_gatehouse/sign-in?ssoError=IP_BLOCKED"]);
    expect((await failures(t.id)).at(-1)?.failure_reason).toBe("IP_BLOCKED");
    expect(await sessionsOf(t.member.id)).toHaveLength(0);
  });
});

describe("tenant isolation: a domain of tenant A never signs in to tenant B", () => {
  it("tenant A's provider vouching for a member of tenant B is refused, even when A claims B's domain and provisions members", async () => {
    const h = new Harness();
    const a = await seedTenant("a");
    const b = await seedTenant("b");
    const idp = await installIdp(h.clock);
    await seedConnection(a.id, idp, { domains: [domainOf(a), domainOf(b)], jitProvisioning: true });
    const { location } = await ssoSignIn(h, idp, asUser(b.member.email));
    expect(location).toBe("/_gatehouse/sign-in?ssoError=SSO_USER_NOT_PROVISIONED");
    expect((await failures(a.id)).at(-1)?.failure_reason).toBe("SSO_EMAIL_OF_ANOTHER_TENANT");
    expect(await sessionsOf(b.member.id)).toHaveLength(0);
  });

  it("tenant A's provider vouching for an email of a domain only tenant B's connection holds is refused SSO_DOMAIN_MISMATCH", async () => {
    const h = new Harness();
    const a = await seedTenant("a");
    const b = await seedTenant("b");
    const idpA = await installIdp(h.clock);
    await seedConnection(a.id, idpA, { domains: [domainOf(a)], jitProvisioning: true });
    const started = await startSso(h, { email: a.member.email });
    const callbackUrl = await idpA.authorize(started.location, asUser(b.member.email));
    expect((await followCallback(h, callbackUrl, started.jar)).headers.get("location")).toBe("/_gatehouse/sign-in?ssoError=SSO_DOMAIN_MISMATCH");
    expect(await sessionsOf(b.member.id)).toHaveLength(0);
  });
});
