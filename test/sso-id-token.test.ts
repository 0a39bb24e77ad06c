// The provider's answer at the callback (src/sso/id-token.ts): every check of the ID token
// refuses on its own (SSO_TOKEN_INVALID, audited with which one), and a provider that does
// not answer is 503 AUTH_UNAVAILABLE, never a pass.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, type SeededTenant, seedTenant } from "./helpers";
import { SESSION } from "./snapshot-fixtures";
import { type IdpUser, type TestIdp, installIdp, seedConnection, ssoSignIn } from "./sso-idp";
import { auditStore } from "./audit-store";

async function ssoTenant(prepare: (idp: TestIdp) => void = () => {}) {
  const h = new Harness();
  const t = await seedTenant("tok");
  const idp = await installIdp(h.clock);
  prepare(idp);
  await seedConnection(t.id, idp, { domains: [`${t.slug}.test`] });
  return { h, t, idp, user: { sub: "sub-1", email: t.member.email } satisfies IdpUser };
}

const lastFailure = async (tenantId: string) =>
  auditStore.prepare("SELECT failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED' ORDER BY seq DESC LIMIT 1").bind(tenantId).first<{ failure_reason: string }>();

async function expectTokenRefused(h: Harness, idp: TestIdp, t: SeededTenant, user: IdpUser, reason: string) {
  const { callback, location } = await ssoSignIn(h, idp, user);
  expect([callback.status, location]).toEqual([302, "/_gatehouse/sign-in?ssoError=SSO_TOKEN_INVALID"]);
  expect(callback.headers.getSetCookie().some((c) => c.startsWith(SESSION))).toBe(false);
  expect((await lastFailure(t.id))?.failure_reason).toBe(reason);
  expect(await env.DB.prepare("SELECT id FROM user_sessions WHERE user_id = ?").bind(t.member.id).first()).toBeNull();
}

describe("the ID token is validated whole", () => {
  it("a token the provider signed for this flow signs in (the baseline every refusal below changes one thing of)", async () => {
    const { h, idp, user } = await ssoTenant();
    expect((await ssoSignIn(h, idp, user)).location).toBe("/");
  });

  it("an ID token from another issuer is refused (ID_TOKEN_ISSUER)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { iss: "https://other-idp.example.test" };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_ISSUER");
  });

  it("an ID token for another client is refused (ID_TOKEN_AUDIENCE)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { aud: "another-client" };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_AUDIENCE");
  });

  it("an ID token for several audiences without azp is refused (ID_TOKEN_AUDIENCE)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { aud: [idp.clientId, "another-client"] };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_AUDIENCE");
  });

  it("an ID token authorised for another party (azp) is refused (ID_TOKEN_AZP)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { azp: "another-client" };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_AZP");
  });

  it("an ID token signed by a key the provider does not publish is refused (ID_TOKEN_SIGNATURE)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.signer = "forger";
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_SIGNATURE");
  });

  it("an ID token naming a key id the provider does not publish is refused (ID_TOKEN_SIGNATURE)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.signer = "unknown-kid";
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_SIGNATURE");
  });

  it("an unsigned ID token (alg none) is refused (ID_TOKEN_ALG)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.signer = "none";
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_ALG");
  });

  it("an unsigned ID token is refused even when the provider's document lists alg none", async () => {
    const { h, t, idp, user } = await ssoTenant((p) => void (p.document.id_token_signing_alg_values_supported = ["ES256", "none"]));
    idp.signer = "none";
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_ALG");
  });

  it("an ID token with another nonce, or none, is refused (ID_TOKEN_NONCE)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { nonce: "a-nonce-of-another-flow" };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_NONCE");
    idp.claims = { nonce: undefined };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_NONCE");
  });

  it("an expired ID token is refused (ID_TOKEN_EXPIRED)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { exp: Math.floor(h.clock.ms / 1000) - 120 };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_EXPIRED");
  });

  it("an ID token issued in the future, or before the sign-in began, is refused (ID_TOKEN_IAT)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    idp.claims = { iat: Math.floor(h.clock.ms / 1000) + 600 };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_IAT");
    idp.claims = { iat: Math.floor(h.clock.ms / 1000) - 3600 };
    await expectTokenRefused(h, idp, t, user, "ID_TOKEN_IAT");
  });

  it("a code the token endpoint refuses (a wrong client secret) is refused (TOKEN_ENDPOINT_REFUSED)", async () => {
    const { h, t, idp, user } = await ssoTenant();
    Object.defineProperty(idp, "clientSecret", { value: "the-provider-now-expects-another-secret" });
    await expectTokenRefused(h, idp, t, user, "TOKEN_ENDPOINT_REFUSED");
  });
});

describe("a provider that cannot be reached is a refusal, never a pass", () => {
  for (const endpoint of ["token", "jwks"] as const) {
    it(`the provider's ${endpoint === "token" ? "token endpoint" : "JWKS"} down is 503 AUTH_UNAVAILABLE, and no session starts`, async () => {
      const { h, t, idp, user } = await ssoTenant();
      idp.down.add(endpoint);
      const html = await ssoSignIn(h, idp, user);
      expect(html.location).toBe("/_gatehouse/sign-in?ssoError=AUTH_UNAVAILABLE");
      const json = await ssoSignIn(h, idp, user, { accept: "json" });
      expect([json.callback.status, (json.callback.body as { error: string }).error]).toEqual([503, "AUTH_UNAVAILABLE"]);
      expect(await env.DB.prepare("SELECT id FROM user_sessions WHERE user_id = ?").bind(t.member.id).first()).toBeNull();
    });
  }
});
