// A minimal relying party for the tests of the local IdP itself (scripts/idp.mjs), built on
// oauth4webapi as Gatehouse's is: discovery, an authorization request (code, PKCE S256, state,
// nonce, `openid email profile`) and redeeming the code into ID token claims verified against
// the IdP's JWKS.
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";

/** A client registered with the IdP at `issuer`. */
export type TestClient = { issuer: string; clientId: string; clientSecret: string; redirectUri: string };

// http is allowed for the loopback issuer only, and the IdP is one.
const insecure = { [oauth.allowInsecureRequests]: true };

export async function discover(issuer: string): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: "oidc", ...insecure }));
}

export type AuthorizationRequest = { url: URL; verifier: string; state: string; nonce: string };

export async function authorizationRequest(as: oauth.AuthorizationServer, client: TestClient): Promise<AuthorizationRequest> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint ?? "");
  url.search = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: "code",
    scope: "openid email profile",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  }).toString();
  return { url, verifier, state, nonce };
}

/** The ID token's claims for the code in `callbackUrl`, its signature checked against the IdP's JWKS. */
export async function redeem(as: oauth.AuthorizationServer, client: TestClient, auth: AuthorizationRequest, callbackUrl: URL): Promise<JWTPayload> {
  const rp: oauth.Client = { client_id: client.clientId };
  const params = oauth.validateAuthResponse(as, rp, callbackUrl, auth.state);
  const response = await oauth.authorizationCodeGrantRequest(as, rp, oauth.ClientSecretBasic(client.clientSecret), params, client.redirectUri, auth.verifier, insecure);
  const result = await oauth.processAuthorizationCodeResponse(as, rp, response, { expectedNonce: auth.nonce, requireIdToken: true });
  const { payload } = await jwtVerify(result.id_token ?? "", jwksOf(as), { issuer: client.issuer, audience: client.clientId, algorithms: ["RS256"] });
  return payload;
}

export const jwksOf = (as: oauth.AuthorizationServer) => createRemoteJWKSet(new URL(as.jwks_uri ?? ""));
