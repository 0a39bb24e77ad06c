/**
 * The provider's answer to a sign-in: the callback's parameters, the code redeemed at the
 * token endpoint, the ID token validated. Everything is checked by oauth4webapi except
 * what it leaves to the relying party, which is checked here:
 *
 *   - the callback: `iss` when sent (RFC 9207), the state (already found by its hash,
 *     src/sso/flows.ts), an `error` answer refused;
 *   - the code: redeemed with the PKCE verifier, the redirect URI and the client secret
 *     (Basic, or a form post when the provider takes only that);
 *   - the ID token (processAuthorizationCodeResponse): `iss` exactly the issuer, `aud`
 *     the client id (with several audiences `azp` must be it), `exp` not past, `nonce` the
 *     flow's, `alg` one the provider's document lists (never HMAC with the secret);
 *   - its signature: oauth4webapi does not check the signature of an ID token that came
 *     straight from the token endpoint over TLS, so it is checked with oauth4webapi's
 *     validateApplicationLevelSignature against the provider's JWKS (jwks_uri of the
 *     stored document; an unknown `kid`, another key's signature or `alg: none` refused);
 *   - here: `azp`, when present, is the client id; `iat` is not in the future nor before
 *     the flow began (both with a minute of clock skew).
 *
 * The clock is the request's (c.get("now")), given to oauth4webapi as its clock skew.
 * A provider that cannot be reached (token endpoint, JWKS) is 503 AUTH_UNAVAILABLE:
 * never a pass. Any other failure is 401 SSO_TOKEN_INVALID (audited with which check
 * failed) or 401 SSO_PROVIDER_REFUSED (the provider answered the sign-in with an error).
 */
import type { Context } from "hono";
import {
  AuthorizationResponseError,
  type Client,
  ClientSecretBasic,
  ClientSecretPost,
  type IDToken,
  OperationProcessingError,
  ResponseBodyError,
  UnsupportedOperationError,
  authorizationCodeGrantRequest,
  clockSkew,
  getValidatedIdTokenClaims,
  processAuthorizationCodeResponse,
  validateApplicationLevelSignature,
  validateAuthResponse,
} from "oauth4webapi";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import type { ClaimedFlow } from "./flows";
import { ProviderUnreachable, clientAuthMethod, providerRequestOptions } from "./provider";
import { type Connection, openSsoSecret, providerOf } from "./store";
import { redirectUri } from "./urls";

const SKEW_SECONDS = 60;

/** The claims sign-in uses, from a validated ID token. */
/** `emailDomainVerified`: Entra ID's optional claim `xms_edov` (see vouchedEmail, ./identity.ts). */
export type ProviderIdentity = { sub: string; email: unknown; emailVerified: unknown; emailDomainVerified: unknown; name: unknown; amr: unknown; sid: string | null };

const tokenInvalid = (tenantId: string, reason: string) =>
  new ApiError(401, "SSO_TOKEN_INVALID", "The identity provider's answer failed validation; start again", { audit: { tenantId, actorUserId: null, failureReason: reason } });

const unavailable = () => new ApiError(503, "AUTH_UNAVAILABLE", "The identity provider cannot be reached; try again");

const isUnreachable = (err: unknown) => err instanceof ProviderUnreachable || (err instanceof Error && err.cause instanceof ProviderUnreachable);

/** Which ID token check an oauth4webapi error names (the audit's reason). */
function idTokenReason(err: unknown): string {
  if (err instanceof OperationProcessingError) {
    const cause = err.cause as { claim?: unknown; header?: unknown } | undefined;
    // A claim that fails its check is named in the error's cause; a missing one only in its message.
    const claim = typeof cause?.claim === "string" ? cause.claim : (/^JWT "(\w+)" \(.*\) claim missing$/.exec(err.message)?.[1] ?? null);
    const named: Record<string, string> = { iss: "ID_TOKEN_ISSUER", aud: "ID_TOKEN_AUDIENCE", azp: "ID_TOKEN_AZP", nonce: "ID_TOKEN_NONCE", exp: "ID_TOKEN_EXPIRED", nbf: "ID_TOKEN_NOT_YET_VALID" };
    if (claim && named[claim]) return named[claim];
    if (cause?.header !== undefined) return "ID_TOKEN_ALG";
  }
  if (err instanceof UnsupportedOperationError) return "ID_TOKEN_ALG";
  return "ID_TOKEN_INVALID";
}

/** The client oauth4webapi validates for: the connection's client id, on the request's clock. */
function clientOf(c: Context<AppEnv>, connection: Connection): Client {
  const skew = Math.floor(c.get("now") / 1000) - Math.floor(Date.now() / 1000);
  return { client_id: connection.clientId, [clockSkew]: skew };
}

/** The callback's parameters, checked: 401 SSO_PROVIDER_REFUSED for an error answer, SSO_TOKEN_INVALID for a wrong `iss`. */
function callbackParameters(connection: Connection, client: Client, claimed: ClaimedFlow, query: URLSearchParams) {
  try {
    return validateAuthResponse(providerOf(connection), client, query, claimed.state);
  } catch (err) {
    if (err instanceof AuthorizationResponseError) {
      throw new ApiError(401, "SSO_PROVIDER_REFUSED", "The identity provider did not sign you in; start again", {
        audit: { tenantId: connection.tenantId, actorUserId: null, failureReason: "SSO_PROVIDER_ERROR", metadata: { providerError: err.error.slice(0, 64) } },
      });
    }
    throw tokenInvalid(connection.tenantId, "CALLBACK_INVALID");
  }
}

/** The code redeemed and the ID token validated (signature included): its claims, or the refusal. */
export async function redeemCode(c: Context<AppEnv>, connection: Connection, claimed: ClaimedFlow, query: URLSearchParams): Promise<ProviderIdentity> {
  const as = providerOf(connection);
  const client = clientOf(c, connection);
  const params = callbackParameters(connection, client, claimed, query);
  const secret = await openSsoSecret(c.env, connection.clientSecretEnc, connection.id);
  const auth = clientAuthMethod(as) === "client_secret_basic" ? ClientSecretBasic(secret) : ClientSecretPost(secret);

  let response: Response;
  let claims: IDToken | undefined;
  try {
    response = await authorizationCodeGrantRequest(as, client, auth, params, redirectUri(c.env), claimed.codeVerifier, providerRequestOptions(connection.issuer, "token endpoint"));
    const result = await processAuthorizationCodeResponse(as, client, response, { expectedNonce: claimed.nonce, requireIdToken: true });
    claims = getValidatedIdTokenClaims(result);
  } catch (err) {
    if (isUnreachable(err)) throw unavailable();
    if (err instanceof ResponseBodyError) throw tokenInvalid(connection.tenantId, "TOKEN_ENDPOINT_REFUSED");
    log.warn("ID token refused", { error: errorSummary(err) });
    throw tokenInvalid(connection.tenantId, idTokenReason(err));
  }
  if (!claims) throw tokenInvalid(connection.tenantId, "ID_TOKEN_MISSING");

  try {
    await validateApplicationLevelSignature(as, response, providerRequestOptions(connection.issuer, "JWKS"));
  } catch (err) {
    if (isUnreachable(err)) throw unavailable();
    log.warn("ID token signature refused", { error: errorSummary(err) });
    throw tokenInvalid(connection.tenantId, err instanceof UnsupportedOperationError ? "ID_TOKEN_ALG" : "ID_TOKEN_SIGNATURE");
  }

  if (claims.azp !== undefined && claims.azp !== connection.clientId) throw tokenInvalid(connection.tenantId, "ID_TOKEN_AZP");
  const nowSeconds = c.get("now") / 1000;
  if (claims.iat > nowSeconds + SKEW_SECONDS || claims.iat < claimed.flow.createdAt / 1000 - SKEW_SECONDS) throw tokenInvalid(connection.tenantId, "ID_TOKEN_IAT");
  return {
    sub: claims.sub,
    email: claims.email,
    emailVerified: claims.email_verified,
    emailDomainVerified: claims.xms_edov,
    name: claims.name,
    amr: claims.amr,
    sid: typeof claims.sid === "string" && claims.sid.length <= 255 ? claims.sid : null,
  };
}
