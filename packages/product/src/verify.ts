/**
 * Verifying Gatehouse's identity assertion, as every origin must (this package's
 * `verifyAssertion` and `createAssertionVerifier`).
 *
 * Gatehouse stands in front of the product: it checks the session, impersonation and IP
 * rules at the edge, then forwards the request with a short-lived ES256 JWT in the header
 * `Gatehouse-Jwt-Assertion`. That verified token is the ONLY thing an origin may trust about
 * who is calling. An origin must NOT trust:
 *
 * - any other request header about identity (X-User-Id, X-Tenant-Id, X-Forwarded-User, ...):
 *   anyone can send them; Gatehouse clears only its own `Gatehouse-*` namespace;
 * - a tenant, user or role taken from the URL, query, body or a cookie: the tenant is `tid`,
 *   the user `sub`, the rights `role`/`permissions`, from the verified claims and nowhere else;
 * - an unverified decode (`decodeJwt`) of the token, for any decision;
 * - the token's header beyond `kid`: the algorithm is pinned to ES256 here (never `none`, never
 *   HS256 "signed" with the public key) and keys come only from Gatehouse's JWKS at the URL
 *   configured below (never from `jku`, `x5u` or an embedded `jwk`);
 * - a token for another audience (`aud`), from another issuer (`iss`), past `exp`, or issued
 *   more than 60 s ago (`iat`): each one is checked below;
 * - a cookie named like Gatehouse's (`__Host-gatehouse_*`): Gatehouse never forwards them;
 * - a request that did not come through Gatehouse: reach the origin only through a service
 *   binding or a locked-down route (Cloudflare Access, mTLS, firewall). A token is a bearer
 *   credential for up to 60 s: never log it or pass it on to third parties.
 *
 * While `act` is present an administrator (act.sub) acts as the user (sub): show it, and
 * record both in your own audit trail.
 *
 * A JWKS outage is not "no user": the verifier answers 503, so the caller fails closed
 * without treating the request as anonymous.
 */
import { type JSONWebKeySet, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwtVerify } from "jose";
import { ASSERTION_HEADER, ASSERTION_MAX_AGE_SECONDS, type AssertionClaims, CLOCK_TOLERANCE_SECONDS } from "./claims.js";

const MAX_TOKEN_LENGTH = 8192;

const isString = (v: unknown): v is string => typeof v === "string";
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** The payload's claims, when each has its type (jose has checked iss, aud, exp and iat already). */
function claimsOf(p: Record<string, unknown>): AssertionClaims | null {
  const act = p.act;
  const actOk = act === undefined || (typeof act === "object" && act !== null && isString((act as Record<string, unknown>).sub) && isString((act as Record<string, unknown>).email) && isString((act as Record<string, unknown>).name));
  const nonEmpty = [p.sub, p.tid, p.sid, p.jti].every((v) => isString(v) && v.length > 0);
  const ok =
    nonEmpty && isString(p.iss) && (isString(p.aud) || isStringList(p.aud)) && isString(p.email) && isString(p.name) && isString(p.role) &&
    isStringList(p.permissions) && isStringList(p.amr) && typeof p.iat === "number" && typeof p.exp === "number" && actOk;
  return ok ? (p as AssertionClaims) : null;
}

export type { AssertionClaims } from "./claims.js";
export type Verified = { ok: true; token: string; claims: AssertionClaims };
export type Refused = { ok: false; status: 401 | 503; error: "UNAUTHORIZED" | "IDENTITY_UNAVAILABLE"; message: string };

/** Fetches the JWKS; a service binding (`env.GATEHOUSE`) or the global fetch. */
export type JwksFetcher = { fetch(input: string, init?: RequestInit): Promise<Response> };

export type VerifyOptions = {
  /** Gatehouse's JWKS (`<GATEHOUSE_PATH>/.well-known/jwks.json`), or a key getter (createRemoteJWKSet). */
  keys: JSONWebKeySet | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Milliseconds since the epoch; injected in tests. */
  nowMs?: number;
};

/**
 * Verifies one assertion (the header's value) as an origin must: ES256 only, a key of
 * Gatehouse's JWKS, `iss`, `aud`, `exp`, an `iat` at most 60 s old (5 s of clock skew
 * allowed), and every claim present with its type. A JWKS that cannot be read is 503, never
 * "anonymous".
 */
export async function verifyAssertion(token: string | null | undefined, options: VerifyOptions): Promise<Verified | Refused> {
  if (!token || token.length > MAX_TOKEN_LENGTH) return unauthorized("No identity assertion");
  const keys = typeof options.keys === "function" ? options.keys : createLocalJWKSet(options.keys);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      issuer: options.issuer,
      audience: options.audience,
      currentDate: new Date(options.nowMs ?? Date.now()),
      maxTokenAge: ASSERTION_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["sub", "iat", "exp", "jti"],
    });
    const claims = claimsOf(payload);
    if (!claims) return unauthorized("The identity assertion lacks required claims");
    return { ok: true, token, claims };
  } catch (error) {
    if (error instanceof JwksUnavailable) {
      return { ok: false, status: 503, error: "IDENTITY_UNAVAILABLE", message: "Cannot verify identity right now" };
    }
    return unauthorized("The identity assertion is not valid");
  }
}

export type VerifierOptions = {
  /** e.g. "https://gatehouse/_gatehouse/.well-known/jwks.json" through a service binding. */
  jwksUrl: string;
  fetcher?: JwksFetcher;
  issuer: string;
  audience: string;
  /** Milliseconds since the epoch; injected in tests. */
  now?: () => number;
  /** How long before an unknown kid may trigger another JWKS fetch (jose's default is 30 s). */
  cooldownMs?: number;
};

/** The JWKS could not be read: fail closed with 503, never as "anonymous". */
class JwksUnavailable extends Error {}

export type AssertionVerifier = (request: Request) => Promise<Verified | Refused>;

/**
 * One verifier per isolate: jose caches the JWKS (5 min, Gatehouse's max-age) and refetches
 * it when a token names a kid it does not know (key rotation), at most once per cooldown.
 */
export function createAssertionVerifier(options: VerifierOptions): AssertionVerifier {
  const fetcher = options.fetcher ?? { fetch: (input: string, init?: RequestInit) => fetch(input, init) };
  const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: 300_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    [customFetch]: (url, init) => fetcher.fetch(url, init),
  });
  // A token naming no published key is refused (401); failing to read the keys at all
  // (network, non-200, bad JSON, timeout) is an outage (503).
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      const tokenProblem = error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported;
      if (tokenProblem) throw error;
      throw new JwksUnavailable(error instanceof Error ? error.message : "JWKS fetch failed");
    }
  };
  const now = options.now ?? Date.now;
  return (request) => verifyAssertion(request.headers.get(ASSERTION_HEADER), { keys, issuer: options.issuer, audience: options.audience, nowMs: now() });
}

function unauthorized(message: string): Refused {
  return { ok: false, status: 401, error: "UNAUTHORIZED", message };
}
