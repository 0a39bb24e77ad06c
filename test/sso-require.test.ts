// requireSso (src/sso/require-sso.ts): a tenant's members sign in through its identity
// provider only, once their credential was found right; owners keep a break-glass way in
// (password with a second factor, or a passkey), audited as such.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, PASSWORD, type SeededTenant, seedTenant } from "./helpers";
import { passkeySignIn, signedInWithPasskey } from "./passkey-fixtures";
import { invite, tokenOf } from "./invitation-fixtures";
import { installIdp, seedConnection, ssoSignIn } from "./sso-idp";
import { auditStore } from "./audit-store";

const domainOf = (t: SeededTenant) => `${t.slug}.test`;
const startUrlOf = (email: string) => `https://gatehouse.test/_gatehouse/api/auth/sso/start?email=${encodeURIComponent(email)}`;

async function requiringTenant(requireSso = true) {
  const h = new Harness();
  const t = await seedTenant("req");
  const idp = await installIdp(h.clock);
  await seedConnection(t.id, idp, { domains: [domainOf(t)], requireSso });
  return { h, t, idp };
}

const login = (h: Harness, email: string, extra: Record<string, unknown> = {}) => h.call("/api/auth/login", { body: { email, password: PASSWORD, ...extra } });

const loginRows = async (tenantId: string) =>
  (await auditStore.prepare("SELECT action, outcome, failure_reason, actor_user_id, metadata FROM audit_logs WHERE tenant_id = ? AND action IN ('LOGIN_SUCCEEDED', 'LOGIN_FAILED') ORDER BY seq").bind(tenantId).all<{ action: string; outcome: string; failure_reason: string | null; actor_user_id: string; metadata: string | null }>()).results;

describe("requireSso", () => {
  it("a member's right password is answered 403 SSO_REQUIRED with the start URL, audited, and no session starts", async () => {
    const { h, t } = await requiringTenant();
    const res = await login(h, t.member.email);
    expect([res.status, res.body.error, res.body.startUrl]).toEqual([403, "SSO_REQUIRED", startUrlOf(t.member.email)]);
    expect(res.cookie ?? "").not.toContain("gatehouse_session");
    expect((await loginRows(t.id)).at(-1)).toMatchObject({ action: "LOGIN_FAILED", failure_reason: "SSO_REQUIRED", actor_user_id: t.member.id });
  });

  it("an invitation accepted under it makes the member but starts no password session: the answer sends them to the provider, which then signs them in", async () => {
    const { h, t, idp } = await requiringTenant();
    const owner = await h.session(t.owner);
    const email = `newcomer@${domainOf(t)}`;
    const invited = await invite(h, owner.cookie, email);
    const res = await h.call<{ user: { id: string }; signInThrough?: { sso: string }; sessionId?: string }>("/api/auth/invitations/accept", {
      body: { token: tokenOf(invited.body.link), displayName: "New Person", password: "a long enough passphrase for tests" },
    });
    expect([res.status, res.body.signInThrough, res.body.sessionId]).toEqual([200, { sso: startUrlOf(email) }, undefined]);
    expect(res.cookie ?? "").not.toContain("gatehouse_session");
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE user_id = ?").bind(res.body.user.id).first<{ n: number }>();
    expect(sessions?.n).toBe(0);
    const { callback } = await ssoSignIn(h, idp, { sub: "sub-newcomer", email, name: "New Person" });
    expect(callback.status).toBe(302);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE user_id = ?").bind(res.body.user.id).first<{ n: number }>())?.n).toBe(1);
  });

  it("binds only the members the provider can sign in: a member whose email is of another domain keeps their password", async () => {
    const { h, t } = await requiringTenant();
    await env.DB.prepare("UPDATE users SET email = 'contractor@elsewhere.example' WHERE id = ?").bind(t.member.id).run();
    const res = await login(h, "contractor@elsewhere.example");
    expect(res.status).toBe(200);
  });

  it("a wrong password is still 401 INVALID_CREDENTIALS: nothing tells the tenant's requirement before the credential is right", async () => {
    const { h, t } = await requiringTenant();
    const res = await login(h, t.member.email, { password: "not the password at all" });
    expect([res.status, res.body.error]).toEqual([401, "INVALID_CREDENTIALS"]);
  });

  it("an admin's password and TOTP are answered 403 SSO_REQUIRED: only owners keep a break-glass way in", async () => {
    const { h, t } = await requiringTenant();
    const res = await login(h, t.admin.email, { totpCode: h.code(t.admin) });
    expect([res.status, res.body.error]).toEqual([403, "SSO_REQUIRED"]);
  });

  it("a member's passkey sign-in is answered 403 SSO_REQUIRED", async () => {
    const { h, t } = await requiringTenant(false);
    const { auth } = await signedInWithPasskey(h, t.member);
    await env.DB.prepare("UPDATE sso_connections SET require_sso = 1 WHERE tenant_id = ?").bind(t.id).run();
    await env.SESSION_CACHE.delete(`tenant-edge:${t.id}`);
    h.clock.advanceSeconds(2); // past the isolate's copy of the edge document
    const res = await passkeySignIn(h, auth);
    expect([res.status, (res.body as unknown as { error: string }).error]).toEqual([403, "SSO_REQUIRED"]);
  });

  it("an owner signs in with password and TOTP around the requirement (break-glass), audited with breakGlass: true", async () => {
    const { h, t } = await requiringTenant();
    const asked = await login(h, t.owner.email);
    expect([asked.status, asked.body.error]).toEqual([401, "TOTP_REQUIRED"]);
    const res = await login(h, t.owner.email, { totpCode: h.code(t.owner) });
    expect(res.status).toBe(200);
    const row = (await loginRows(t.id)).at(-1);
    expect(row?.action).toBe("LOGIN_SUCCEEDED");
    expect(JSON.parse(row?.metadata ?? "{}")).toMatchObject({ method: "password", secondFactor: true, breakGlass: true });
  });

  it("an owner's passkey is a break-glass way in too", async () => {
    const { h, t } = await requiringTenant();
    const { auth } = await signedInWithPasskey(h, t.owner);
    const res = await passkeySignIn(h, auth);
    expect(res.status).toBe(200);
    expect(JSON.parse((await loginRows(t.id)).at(-1)?.metadata ?? "{}")).toMatchObject({ method: "passkey", breakGlass: true });
  });

  it("an owner without a second factor has no break-glass way in: 403 SSO_REQUIRED", async () => {
    const h = new Harness();
    const t = await seedTenant("req", { totp: false });
    const idp = await installIdp(h.clock);
    await seedConnection(t.id, idp, { domains: [domainOf(t)], requireSso: true });
    const res = await login(h, t.owner.email);
    expect([res.status, res.body.error]).toEqual([403, "SSO_REQUIRED"]);
  });

  it("the provider's sign-in still works for members, without the break-glass mark", async () => {
    const { h, t, idp } = await requiringTenant();
    const { location } = await ssoSignIn(h, idp, { sub: "s-1", email: t.member.email });
    expect(location).toBe("/");
    expect(JSON.parse((await loginRows(t.id)).at(-1)?.metadata ?? "{}")).not.toHaveProperty("breakGlass");
  });

  it("without requireSso a member signs in with their password as before, and an owner's sign-in is no break-glass", async () => {
    const { h, t } = await requiringTenant(false);
    expect((await login(h, t.member.email)).status).toBe(200);
    expect((await login(h, t.owner.email, { totpCode: h.code(t.owner) })).status).toBe(200);
    expect(JSON.parse((await loginRows(t.id)).at(-1)?.metadata ?? "{}")).not.toHaveProperty("breakGlass");
  });

  it("the owner turning requireSso on (PUT /api/tenant/sso) holds at the members' next sign-in", async () => {
    const { h, t, idp } = await requiringTenant(false);
    const owner = await h.session(t.owner);
    expect((await login(h, t.member.email)).status).toBe(200);
    await h.stepUp(owner.cookie, "SSO_CHANGE", t.owner);
    const saved = await h.call("/api/tenant/sso", { method: "PUT", cookie: owner.cookie, body: { ...idp.connectionBody([domainOf(t)]), requireSso: true } });
    expect(saved.status).toBe(200);
    const res = await login(h, t.member.email);
    expect([res.status, res.body.error]).toEqual([403, "SSO_REQUIRED"]);
  });
});
