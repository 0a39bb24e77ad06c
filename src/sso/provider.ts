/**
 * The tenant's OpenID Provider as Gatehouse talks to it, through oauth4webapi: its issuer
 * (what may be one), its discovery document (fetched and validated once, when the owner
 * saves the connection; the validated copy is what sign-in uses), and the one way any
 * request to the provider is made (providerFetch).
 *
 * Threat model: an owner's typo or a hostile issuer must never be saved half-working (the
 * document is validated before anything is written, and a provider that does not answer
 * saves nothing); plain http would let anyone on the path swap the provider's keys, so it
 * is refused except for a provider on this machine (the local IdP of `npm start`); a
 * provider that cannot be reached at sign-in is a 503, never a pass (src/sso/id-token.ts).
 */
import { type AuthorizationServer, allowInsecureRequests, customFetch, discoveryRequest, processDiscoveryResponse } from "oauth4webapi";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import { isLoopbackHost } from "../lib/origin";

/** How long Gatehouse waits for any answer of a provider. */
const PROVIDER_TIMEOUT_MS = 10_000;
/** A discovery document is a page of JSON: anything much bigger is not one. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** What oauth4webapi's own checks of a provider's answer (ID token, key set) may verify with (RFC 7518 digital signatures). */
export const VERIFIABLE_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
/** How Gatehouse authenticates to the token endpoint with the client secret: Basic (the default of RFC 8414), else a form post. */
const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"] as const;
type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** Why `issuer` cannot be a connection's issuer, or null: https, or http for a provider on this machine only. */
export function issuerProblem(issuer: string): string | null {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return "must be a URL";
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "" || /[?#]/.test(issuer)) return "must have no credentials, query or fragment";
  return plainHttpProblem(url, isLoopbackHost(url.hostname));
}

/** https, or http when the provider is on this machine (an issuer on loopback, and this URL too). */
function plainHttpProblem(url: URL, loopbackIssuer: boolean): string | null {
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && loopbackIssuer && isLoopbackHost(url.hostname)) return null;
  return "must use https:// (http:// only for a provider on this machine: localhost, 127.0.0.1 or [::1])";
}

/** The provider could not be reached (a network error, a timeout, or a 5xx): never its answer. */
export class ProviderUnreachable extends Error {
  override readonly name = "ProviderUnreachable";
}

/**
 * oauth4webapi's options for any request to a provider: the fetch it makes them with (a
 * network failure, a timeout or a 5xx becomes ProviderUnreachable, so a caller can tell
 * "not reachable" from "answered wrongly") and, for a loopback issuer only, plain http.
 */
export function providerRequestOptions(issuer: string, what: string) {
  const loopback = isLoopbackHost(new URL(issuer).hostname);
  const fetchOnce = async (url: string, init: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      // globalThis.fetch at call time: what the tests' provider replaces (test/sso-idp.ts).
      res = await globalThis.fetch(url, { ...init, signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
    } catch (err) {
      log.warn("identity provider unreachable", { what, error: errorSummary(err) });
      throw new ProviderUnreachable(what);
    }
    if (res.status >= 500) {
      log.warn("identity provider failed", { what, status: res.status });
      throw new ProviderUnreachable(what);
    }
    return res;
  };
  return { [customFetch]: fetchOnce, ...(loopback ? { [allowInsecureRequests]: true } : {}) };
}

const invalid = (problem: string) => new ApiError(400, "SSO_PROVIDER_INVALID", `The identity provider's discovery document is not usable: ${problem}; nothing was saved`, { details: { problem } });

const listOf = (doc: AuthorizationServer, field: keyof AuthorizationServer): readonly unknown[] | undefined => {
  const value = doc[field];
  return Array.isArray(value) ? value : undefined;
};

/** What is wrong with a discovery document for `issuer`, or null. */
function documentProblem(issuer: string, doc: AuthorizationServer): string | null {
  // oauth4webapi compares the issuers as URLs ("…/x" and "…/x/" alike); an ID token's `iss` is compared as a string.
  if (doc.issuer !== issuer) return `its issuer is ${JSON.stringify(doc.issuer)}, not exactly ${JSON.stringify(issuer)}`;
  const loopbackIssuer = isLoopbackHost(new URL(issuer).hostname);
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    const value = doc[field];
    if (typeof value !== "string") return `${field} is missing`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${field} is not a URL`;
    }
    const problem = plainHttpProblem(url, loopbackIssuer);
    if (problem) return `${field} ${problem}`;
  }
  if (!listOf(doc, "response_types_supported")?.includes("code")) return 'response_types_supported does not list "code" (the authorization code flow)';
  const pkce = listOf(doc, "code_challenge_methods_supported");
  if (pkce && !pkce.includes("S256")) return 'code_challenge_methods_supported does not list "S256" (PKCE)';
  const auth = listOf(doc, "token_endpoint_auth_methods_supported");
  if (auth && !CLIENT_AUTH_METHODS.some((m) => auth.includes(m))) return "token_endpoint_auth_methods_supported lists neither client_secret_basic nor client_secret_post";
  const algs = listOf(doc, "id_token_signing_alg_values_supported");
  if (!algs?.some((alg) => typeof alg === "string" && VERIFIABLE_ALGS.includes(alg))) return `id_token_signing_alg_values_supported lists no signature algorithm Gatehouse verifies (${VERIFIABLE_ALGS.join(", ")})`;
  return null;
}

/** How Gatehouse authenticates to this provider's token endpoint. */
export function clientAuthMethod(doc: AuthorizationServer): ClientAuthMethod {
  const listed = listOf(doc, "token_endpoint_auth_methods_supported");
  return !listed || listed.includes("client_secret_basic") ? "client_secret_basic" : "client_secret_post";
}

/**
 * Fetches `issuer`'s discovery document (OpenID Connect Discovery 1.0) and validates it:
 * 502 SSO_PROVIDER_UNREACHABLE when it does not answer, 400 SSO_PROVIDER_INVALID when what
 * it answers is not a usable provider for Gatehouse.
 */
export async function discoverProvider(issuer: string): Promise<AuthorizationServer> {
  const expected = new URL(issuer);
  const options = providerRequestOptions(issuer, "discovery");
  let doc: AuthorizationServer;
  try {
    const res = await discoveryRequest(expected, options);
    if (res.status !== 200) throw invalid(`its discovery URL answered ${res.status}`);
    if (Number(res.headers.get("content-length") ?? 0) > MAX_DOCUMENT_BYTES) throw invalid("it is over 64 KB");
    doc = await processDiscoveryResponse(expected, res);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof ProviderUnreachable) {
      throw new ApiError(502, "SSO_PROVIDER_UNREACHABLE", "The identity provider's discovery document could not be fetched; nothing was saved");
    }
    throw invalid(err instanceof Error ? err.message : "it could not be read");
  }
  if (JSON.stringify(doc).length > MAX_DOCUMENT_BYTES) throw invalid("it is over 64 KB");
  const problem = documentProblem(issuer, doc);
  if (problem) throw invalid(problem);
  return doc;
}
