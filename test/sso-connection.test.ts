// The tenant's single sign-on connection (src/sso/connection-routes.ts): validated whole
// before anything is saved, the owner's with step-up, audited, the secret sealed and never
// answered, a domain at most one tenant's.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runKeyRotation } from "../src/key-rotation";
import { randomId, toBase64Url } from "../src/lib/crypto";
import { openSsoSecret } from "../src/sso/store";
import { Harness, type SeededTenant, seedTenant, withEnv } from "./helpers";
import { TestIdp, installIdp } from "./sso-idp";
import { auditStore } from "./audit-store";

type ConnectionView = { id: string; issuer: string; clientId: string; secretSet: boolean; domains: string[]; redirectUri: string; backchannelLogoutUri: string; requireSso: boolean };
type Answer = { connection: ConnectionView | null; error?: string; problem?: string; domains?: string[] };

const domainOf = (t: SeededTenant) => `${t.slug}.test`;

async function ownerReady(h: Harness, t: SeededTenant) {
  const { cookie } = await h.session(t.owner);
  return cookie;
}

/** PUT /api/tenant/sso as the owner, with a fresh SSO_CHANGE step-up. */
async function save(h: Harness, t: SeededTenant, cookie: string, body: Record<string, unknown>) {
  await h.stepUp(cookie, "SSO_CHANGE", t.owner);
  return h.call<Answer>("/api/tenant/sso", { method: "PUT", cookie, body });
}

const read = (h: Harness, cookie: string) => h.call<Answer>("/api/tenant/sso", { cookie });

const sealedSecretOf = async (tenantId: string) =>
  (await env.DB.prepare("SELECT id, client_secret_enc AS sealed FROM sso_connections WHERE tenant_id = ?").bind(tenantId).first<{ id: string; sealed: string }>()) ?? null;

async function auditRows(tenantId: string, action: string) {
  const rows = await auditStore.prepare("SELECT outcome, failure_reason, before, after, metadata FROM audit_logs WHERE tenant_id = ? AND action = ? ORDER BY seq").bind(tenantId, action).all<Record<string, string | null>>();
  return rows.results;
}

async function connected() {
  const h = new Harness();
  const t = await seedTenant("sso");
  const idp = await installIdp(h.clock);
  const cookie = await ownerReady(h, t);
  return { h, t, idp, cookie };
}

describe("saving a connection", () => {
  it("an owner saves a connection: the discovery document is validated, the secret sealed and never answered, and the URIs to paste at the provider are given", async () => {
    const { h, t, idp, cookie } = await connected();
    const res = await save(h, t, cookie, idp.connectionBody([domainOf(t).toUpperCase(), `Sub.${domainOf(t)}`]));
    expect(res.status).toBe(200);
    expect(res.body.connection).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      secretSet: true,
      domains: [domainOf(t), `sub.${domainOf(t)}`].sort(),
      redirectUri: "https://gatehouse.test/_gatehouse/api/auth/sso/callback",
      backchannelLogoutUri: "https://gatehouse.test/_gatehouse/api/auth/sso/backchannel-logout",
    });
    expect(idp.requests.map((r) => r.url)).toEqual([`${idp.issuer}/.well-known/openid-configuration`]);
    const got = await read(h, cookie);
    expect(got.body.connection?.id).toBe(res.body.connection?.id);
    expect(JSON.stringify([res.body, got.body])).not.toContain(idp.clientSecret);
    const sealed = await sealedSecretOf(t.id);
    expect(sealed?.sealed).toMatch(/^v2\./);
    expect(sealed?.sealed).not.toContain(idp.clientSecret);
    expect(await openSsoSecret(env, sealed?.sealed ?? "", sealed?.id ?? "")).toBe(idp.clientSecret);
    const [row] = await auditRows(t.id, "SSO_CONNECTION_SAVED");
    expect(row).toMatchObject({ outcome: "SUCCESS", before: null });
    expect(JSON.parse(row?.after ?? "{}")).toMatchObject({ issuer: idp.issuer, clientId: idp.clientId, domains: [domainOf(t), `sub.${domainOf(t)}`].sort() });
    expect(JSON.stringify(await auditRows(t.id, "SSO_CONNECTION_SAVED"))).not.toContain(idp.clientSecret);
  });

  it("saving is the owners' alone, with the SSO_CHANGE step-up, and never while impersonating", async () => {
    const { h, t, idp, cookie } = await connected();
    const body = idp.connectionBody([domainOf(t)]);
    const withoutStepUp = await h.call<Answer>("/api/tenant/sso", { method: "PUT", cookie, body });
    expect(withoutStepUp.status).toBe(428);
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "SSO_CHANGE", t.admin);
    const byAdmin = await h.call<Answer>("/api/tenant/sso", { method: "PUT", cookie: admin.cookie, body });
    expect([byAdmin.status, byAdmin.body.error]).toEqual([403, "FORBIDDEN"]);
    await h.stepUp(cookie, "IMPERSONATION", t.owner);
    expect((await h.call(`/api/impersonate/${t.admin.id}`, { cookie, body: { reason: "Ticket 7: check their settings" } })).status).toBe(200);
    const impersonating = await h.call<Answer>("/api/tenant/sso", { method: "PUT", cookie, body });
    expect([impersonating.status, impersonating.body.error]).toEqual([403, "IMPERSONATION_FORBIDDEN"]);
    expect(await sealedSecretOf(t.id)).toBeNull();
    expect((await auditRows(t.id, "SSO_CONNECTION_SAVED")).map((r) => r.failure_reason)).toEqual(expect.arrayContaining(["FORBIDDEN", "IMPERSONATION_FORBIDDEN"]));
  });

  it("admins read the connection without its secret, members may not, and another tenant's owner sees none", async () => {
    const { h, t, idp, cookie } = await connected();
    await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
    const admin = await h.session(t.admin);
    expect((await read(h, admin.cookie)).body.connection).toMatchObject({ issuer: idp.issuer, secretSet: true });
    const member = await h.session(t.member);
    expect((await read(h, member.cookie)).status).toBe(403);
    const other = await seedTenant("other");
    expect((await read(h, await ownerReady(h, other))).body).toEqual({ connection: null });
  });

  it("a PUT without clientSecret keeps the connection's secret; a new connection needs one", async () => {
    const { h, t, idp, cookie } = await connected();
    const { clientSecret: _, ...withoutSecret } = idp.connectionBody([domainOf(t)]);
    const first = await save(h, t, cookie, withoutSecret);
    expect([first.status, first.body.error]).toEqual([400, "VALIDATION_FAILED"]);
    expect((await save(h, t, cookie, idp.connectionBody([domainOf(t)]))).status).toBe(200);
    const before = await sealedSecretOf(t.id);
    const again = await save(h, t, cookie, { ...withoutSecret, jitProvisioning: true });
    expect(again.status).toBe(200);
    expect(await sealedSecretOf(t.id)).toEqual(before);
    const rows = await auditRows(t.id, "SSO_CONNECTION_SAVED");
    expect(rows.filter((r) => r.outcome === "SUCCESS").map((r) => JSON.parse(r.metadata ?? "{}").secretChanged)).toEqual([true, false]);
  });

  it("changing the provider unlinks the identities, the sessions and the sign-ins in flight of the old one, so neither its logout tokens nor its codes reach the new one", async () => {
    const { h, t, idp, cookie } = await connected();
    const saved = await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
    const connectionId = saved.body.connection?.id as string;
    await env.DB.prepare("INSERT INTO sso_identities (connection_id, subject, tenant_id, user_id, created_at) VALUES (?, 'sub-1', ?, ?, 0)").bind(connectionId, t.id, t.member.id).run();
    await env.DB.prepare("UPDATE user_sessions SET sso_connection_id = ?, sso_subject = 'sub-1', sso_sid = 'sid-1' WHERE user_id = ?").bind(connectionId, t.owner.id).run();
    await env.DB.prepare("INSERT INTO sso_flows (id, tenant_id, connection_id, state_hash, nonce_hash, binding_hash, code_verifier_enc, created_at, expires_at) VALUES ('flw_t', ?, ?, 's', 'n', 'b', 'v', 0, 9999999999999)").bind(t.id, connectionId).run();
    const linked = async () => ({
      flows: (await env.DB.prepare("SELECT count(*) AS n FROM sso_flows WHERE connection_id = ?").bind(connectionId).first<{ n: number }>())?.n,
      identities: (await env.DB.prepare("SELECT count(*) AS n FROM sso_identities WHERE connection_id = ?").bind(connectionId).first<{ n: number }>())?.n,
      sessions: (await env.DB.prepare("SELECT count(*) AS n FROM user_sessions WHERE sso_connection_id = ?").bind(connectionId).first<{ n: number }>())?.n,
    });
    expect((await save(h, t, cookie, { ...idp.connectionBody([domainOf(t)]), requireSso: true })).status).toBe(200);
    expect(await linked()).toEqual({ flows: 1, identities: 1, sessions: 1 });
    const next = await installIdp(h.clock);
    expect((await save(h, t, cookie, next.connectionBody([domainOf(t)]))).status).toBe(200);
    expect(await linked()).toEqual({ flows: 0, identities: 0, sessions: 0 });
    // The owner's session itself goes on.
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
  });
});

describe("a domain belongs to at most one tenant", () => {
  it("a domain another tenant holds is 409 SSO_DOMAIN_TAKEN and nothing is saved; once that tenant deletes its connection the domain is free", async () => {
    const { h, t, idp, cookie } = await connected();
    expect((await save(h, t, cookie, idp.connectionBody([domainOf(t), "shared.example"]))).status).toBe(200);
    const other = await seedTenant("other");
    const otherCookie = await ownerReady(h, other);
    const taken = await save(h, other, otherCookie, idp.connectionBody([domainOf(other), "SHARED.example"]));
    expect([taken.status, taken.body.error, taken.body.domains]).toEqual([409, "SSO_DOMAIN_TAKEN", ["shared.example"]]);
    expect(await sealedSecretOf(other.id)).toBeNull();
    expect((await read(h, otherCookie)).body.connection).toBeNull();

    await h.stepUp(cookie, "SSO_CHANGE", t.owner);
    const deleted = await h.call("/api/tenant/sso", { method: "DELETE", cookie });
    expect(deleted.status).toBe(200);
    expect((await auditRows(t.id, "SSO_CONNECTION_DELETED"))[0]).toMatchObject({ outcome: "SUCCESS" });
    expect((await read(h, cookie)).body.connection).toBeNull();
    expect((await save(h, other, otherCookie, idp.connectionBody([domainOf(other), "shared.example"]))).status).toBe(200);
  });

  it("domains are host names, one to twenty, none twice: anything else is 400 and nothing is saved", async () => {
    const { h, t, idp, cookie } = await connected();
    const bad = [[], ["not a domain"], ["localhost"], ["10.0.0.1"], ["-acme.test"], ["acme.test."], ["*.acme.test"], ["acme.test", "ACME.test"], Array.from({ length: 21 }, (_, i) => `d${i}.test`)];
    for (const domains of bad) {
      const res = await save(h, t, cookie, idp.connectionBody(domains));
      expect([res.status, res.body.error], JSON.stringify(domains)).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect(await sealedSecretOf(t.id)).toBeNull();
  });

  it("deleting without a connection is 404 SSO_NOT_CONFIGURED", async () => {
    const { h, t, cookie } = await connected();
    await h.stepUp(cookie, "SSO_CHANGE", t.owner);
    const res = await h.call("/api/tenant/sso", { method: "DELETE", cookie });
    expect([res.status, res.body.error]).toEqual([404, "SSO_NOT_CONFIGURED"]);
  });
});

describe("the provider is validated before anything is saved", () => {
  const broken: [string, (idp: TestIdp) => void][] = [
    ["names another issuer", (idp) => void (idp.document.issuer = "https://elsewhere.example.test")],
    ["has no authorization endpoint", (idp) => void (idp.document.authorization_endpoint = undefined)],
    ["has no token endpoint", (idp) => void (idp.document.token_endpoint = undefined)],
    ["has no jwks_uri", (idp) => void (idp.document.jwks_uri = undefined)],
    ["does not offer the code flow", (idp) => void (idp.document.response_types_supported = ["id_token"])],
    ["lists PKCE methods without S256", (idp) => void (idp.document.code_challenge_methods_supported = ["plain"])],
    ["serves its token endpoint over plain http", (idp) => void (idp.document.token_endpoint = "http://idp.example.test/token")],
    ["signs ID tokens only with a shared secret", (idp) => void (idp.document.id_token_signing_alg_values_supported = ["HS256"])],
    ["takes no client secret at its token endpoint", (idp) => void (idp.document.token_endpoint_auth_methods_supported = ["private_key_jwt"])],
  ];
  for (const [what, breakIt] of broken) {
    it(`a provider whose discovery document ${what} is 400 SSO_PROVIDER_INVALID and saves nothing`, async () => {
      const { h, t, idp, cookie } = await connected();
      breakIt(idp);
      const res = await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
      expect([res.status, res.body.error]).toEqual([400, "SSO_PROVIDER_INVALID"]);
      expect(res.body.problem).toEqual(expect.any(String));
      expect(await sealedSecretOf(t.id)).toBeNull();
      expect((await auditRows(t.id, "SSO_CONNECTION_SAVED")).map((r) => r.failure_reason)).toEqual(["SSO_PROVIDER_INVALID"]);
    });
  }

  it("a discovery document whose issuer is not exactly the configured one (here with a trailing slash, the same URL to a URL parser) is 400 SSO_PROVIDER_INVALID and saves nothing", async () => {
    const { h, t, idp, cookie } = await connected();
    idp.document.issuer = `${idp.issuer}/`;
    const res = await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
    expect([res.status, res.body.error]).toEqual([400, "SSO_PROVIDER_INVALID"]);
    expect(await sealedSecretOf(t.id)).toBeNull();
  });

  it("a provider that does not answer is 502 SSO_PROVIDER_UNREACHABLE and saves nothing", async () => {
    const { h, t, idp, cookie } = await connected();
    idp.down.add("discovery");
    const res = await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
    expect([res.status, res.body.error]).toEqual([502, "SSO_PROVIDER_UNREACHABLE"]);
    expect(await sealedSecretOf(t.id)).toBeNull();
  });

  it("plain http is refused for an issuer not on this machine, and accepted for a loopback one", async () => {
    const h = new Harness();
    const t = await seedTenant("sso");
    const cookie = await ownerReady(h, t);
    const remote = await installIdp(h.clock, "http://idp.example.test");
    const refused = await save(h, t, cookie, remote.connectionBody([domainOf(t)]));
    expect([refused.status, refused.body.error]).toEqual([400, "VALIDATION_FAILED"]);
    expect(remote.requests).toEqual([]);
    const local = await installIdp(h.clock, "http://127.0.0.1:9400");
    expect((await save(h, t, cookie, local.connectionBody([domainOf(t)]))).status).toBe(200);
  });
});

describe("key rotation", () => {
  it("the scheduled run re-seals a connection's client secret under the current key, and it still opens", async () => {
    const { h, t, idp, cookie } = await connected();
    await save(h, t, cookie, idp.connectionBody([domainOf(t)]));
    const before = await sealedSecretOf(t.id);
    const rotated = withEnv({ TOTP_ENCRYPTION_KEY: JSON.stringify([{ id: "k7", key: toBase64Url(new Uint8Array(32).fill(7)) }, { id: "k0", key: env.TOTP_ENCRYPTION_KEY as string }]) });
    const result = await runKeyRotation(rotated, h.clock.ms, { totpRows: 0, checkpoints: 0 });
    expect(result.ssoClientSecrets).toMatchObject({ resealed: expect.any(Number), unopenable: 0 });
    const after = await sealedSecretOf(t.id);
    expect(after?.sealed).toMatch(/^v2\.k7\./);
    expect(after?.sealed).not.toBe(before?.sealed);
    expect(await openSsoSecret(rotated, after?.sealed ?? "", after?.id ?? "")).toBe(idp.clientSecret);
    // The connection id is bound: the sealed secret does not open as another connection's.
    await expect(openSsoSecret(rotated, after?.sealed ?? "", randomId("sso_"))).rejects.toMatchObject({ status: 503, code: "AUTH_UNAVAILABLE" });
  });
});
