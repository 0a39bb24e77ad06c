/**
 * Verifying Gatehouse's identity assertion: the reference an origin copies.
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
import { type JWTVerifyGetKey, createRemoteJWKSet, customFetch, errors, jwtVerify } from "jose";
import { array, number, object, optional, string, type output } from "zod";

export const ASSERTION_HEADER = "Gatehouse-Jwt-Assertion";
const MAX_TOKEN_LENGTH = 8192;
/** Gatehouse signs assertions for at most 60 s; an older iat is refused even if exp says otherwise. */
const MAX_TOKEN_AGE_SECONDS = 60;
/** Allowed clock skew between Gatehouse and the origin. */
const CLOCK_TOLERANCE_SECONDS = 5;

const claimsSchema = object({
  iss: string(),
  aud: string().or(array(string())),
  sub: string().min(1),
  tid: string().min(1),
  sid: string().min(1),
  email: string(),
  name: string(),
  role: string(),
  permissions: array(string()),
  amr: array(string()),
  iat: number(),
  exp: number(),
  jti: string().min(1),
  act: optional(object({ sub: string().min(1), email: string(), name: string() })),
});

export type AssertionClaims = output<typeof claimsSchema>;

export type Verified = { ok: true; token: string; claims: AssertionClaims };
export type Refused = { ok: false; status: 401 | 503; error: "UNAUTHORIZED" | "IDENTITY_UNAVAILABLE"; message: string };

/** Fetches the JWKS; a service binding (`env.GATEHOUSE`) or the global fetch. */
export type JwksFetcher = { fetch(input: string, init?: RequestInit): Promise<Response> };

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

  return async (request) => {
    const token = request.headers.get(ASSERTION_HEADER);
    if (!token || token.length > MAX_TOKEN_LENGTH) return unauthorized("No identity assertion");
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ["ES256"],
        issuer: options.issuer,
        audience: options.audience,
        currentDate: new Date(now()),
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["sub", "iat", "exp", "jti"],
      });
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) return unauthorized("The identity assertion lacks required claims");
      return { ok: true, token, claims: claims.data };
    } catch (error) {
      if (error instanceof JwksUnavailable) {
        return { ok: false, status: 503, error: "IDENTITY_UNAVAILABLE", message: "Cannot verify identity right now" };
      }
      return unauthorized("The identity assertion is not valid");
    }
  };
}

function unauthorized(message: string): Refused {
  return { ok: false, status: 401, error: "UNAUTHORIZED", message };
}
