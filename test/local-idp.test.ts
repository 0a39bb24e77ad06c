// The local OpenID Provider (scripts/idp.mjs, started for the run by test/local-idp-setup.mjs)
// seen from workerd, as Gatehouse's relying party sees it: its discovery document, and a
// whole authorization-code flow with PKCE through its login and consent pages, redeemed
// with oauth4webapi, whose ID token is verified against the IdP's JWKS.
import { jwtVerify } from "jose";
import { describe, expect, inject, it } from "vitest";
import { attemptLocalIdpLogin, CookieJar, type Credentials, loginAtLocalIdp, logoutAtLocalIdp } from "./local-idp-login";
import { authorizationRequest, discover, jwksOf, redeem } from "./local-idp-rp";

const idp = inject("localIdp");
const [samir, michael] = idp.accounts;
if (!samir || !michael) throw new Error("the local IdP has the demo's two accounts");

/** Signs in at the IdP as `who` (in the browser of `jar`) and redeems the code: the ID token's verified claims. */
async function signIn(who: Credentials, jar = new CookieJar()) {
  const as = await discover(idp.issuer);
  const auth = await authorizationRequest(as, idp);
  const callbackUrl = await loginAtLocalIdp(auth.url, who, jar);
  expect(`${callbackUrl.origin}${callbackUrl.pathname}`).toBe(idp.redirectUri);
  return redeem(as, idp, auth, callbackUrl);
}

const newAuthorization = async () => (await authorizationRequest(await discover(idp.issuer), idp)).url;

describe("the local OpenID Provider", () => {
  it("publishes from loopback a discovery document with code + PKCE S256 and back-channel logout with sid", async () => {
    const as = await discover(idp.issuer);
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(as.issuer).toBe(idp.issuer);
    expect(as.response_types_supported).toEqual(["code"]);
    expect(as.code_challenge_methods_supported).toEqual(["S256"]);
    expect(as.id_token_signing_alg_values_supported).toContain("RS256");
    expect(as.scopes_supported).toEqual(expect.arrayContaining(["openid", "email", "profile"]));
    expect([as.backchannel_logout_supported, as.backchannel_logout_session_supported]).toEqual([true, true]);
  });

  it("signs a known account in through its login and consent pages: an RS256 ID token with email_verified, name, amr and sid", async () => {
    const claims = await signIn(samir);
    expect(claims).toMatchObject({ email: samir.email, email_verified: true, name: samir.name, given_name: "Samir", amr: ["pwd"] });
    expect(claims.sid).toEqual(expect.any(String));
    expect(claims.sub).toMatch(/^acct_/);
    // Another account is another subject.
    expect((await signIn(michael)).sub).not.toBe(claims.sub);
  });

  it("refuses a wrong password on its login page and never reaches the redirect URI", async () => {
    expect(await attemptLocalIdpLogin(await newAuthorization(), { email: samir.email, password: `${samir.password}x` })).toEqual({ ok: false, status: 401, message: "Incorrect email or password." });
  });

  it("refuses an account it does not know, whatever the password", async () => {
    expect(await attemptLocalIdpLogin(await newAuthorization(), { email: "nobody@initech.test", password: samir.password })).toEqual({ ok: false, status: 401, message: "Incorrect email or password." });
  });

  it("refuses an authorization request without PKCE", async () => {
    const url = await newAuthorization();
    url.searchParams.delete("code_challenge");
    url.searchParams.delete("code_challenge_method");
    const login = await attemptLocalIdpLogin(url, samir);
    expect(login.ok && login.callbackUrl.searchParams.get("error")).toBe("invalid_request");
  });

  it("signs the browser out on its end_session page and sends the client a signed logout token with the sub and sid of its ID token", async () => {
    const browser = new CookieJar();
    const idToken = await signIn(samir, browser);
    await logoutAtLocalIdp(idp.issuer, browser);
    const tokens: string[] = await (await fetch(idp.logoutTokensUrl)).json();
    const as = await discover(idp.issuer);
    const verified = await Promise.all(tokens.map((t) => jwtVerify(t, jwksOf(as), { issuer: idp.issuer, audience: idp.clientId, algorithms: ["RS256"] })));
    const mine = verified.map((v) => v.payload).filter((p) => p.sid === idToken.sid);
    expect(mine).toEqual([expect.objectContaining({ sub: idToken.sub, events: { "http://schemas.openid.net/event/backchannel-logout": {} } })]);
    expect(mine[0]).not.toHaveProperty("nonce");
  });
});
