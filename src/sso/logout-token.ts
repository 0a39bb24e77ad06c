/**
 * An OIDC Back-Channel Logout 1.0 logout token, validated as its §2.6 says: a JWT signed by
 * the provider's key (from the connection's validated `jwks_uri`), with an algorithm the
 * provider advertises and Gatehouse verifies (asymmetric only: never `none`, never HS*),
 * `iss` exactly the connection's issuer, `aud` naming its client id, `iat` not ahead of the
 * clock by more than a small skew nor older than MAX_TOKEN_AGE_SECONDS, `exp` (if present)
 * not past, the back-channel logout event, `sub` or `sid`, no `nonce`, a `jti`. Whether the
 * `jti` was used before is the route's (src/sso/backchannel-logout.ts): it owns the table.
 *
 * Threat model: anyone can post to the logout endpoint (the provider calls it server to
 * server: no cookie, no Origin), so the token is the only credential. A forged token
 * (another key, `alg: none`, a shared-secret algorithm), one for another provider or
 * client, an ID token passed off as a logout token (no `events`, or a `nonce`) or a stale
 * one ends nothing. The connections are found by the token's own (unverified) `iss` and
 * `aud`, and each one acts only on a token its own provider's keys verify. The keys are
 * fetched through the one provider fetch (src/sso/provider.ts: timeout, https unless on
 * loopback); when they cannot be had the outcome says so and the route answers 503: nothing
 * ended is not a success, and the provider retries. Times come from the request's clock.
 */
import { type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, createLocalJWKSet, decodeJwt, errors, jwtVerify } from "jose";
import { type AuthorizationServer, customFetch } from "oauth4webapi";
import type { Db } from "../db/client";
import type { SsoConnection } from "../db/schema";
import { failClosed } from "../lib/fail-closed";
import { errorSummary, log } from "../lib/log";
import { z } from "../lib/zod";
import { ProviderUnreachable, VERIFIABLE_ALGS, providerRequestOptions } from "./provider";
import { connectionsForClient, providerOf } from "./store";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
/** How far a token's `iat` may be ahead of Gatehouse's clock, and its `exp` behind it. */
export const CLOCK_SKEW_SECONDS = 60;
/** The oldest token accepted (by `iat`): a `jti` is remembered no longer than this (and the skew). */
export const MAX_TOKEN_AGE_SECONDS = 10 * 60;
/** A key set is a page of JSON: anything much bigger is not one. */
const MAX_KEY_SET_BYTES = 64 * 1024;
/** The audiences of one token looked up at most (a provider names one client, rarely a few). */
const MAX_AUDIENCES = 5;

const claimText = (name: string) => z.string({ error: `its ${name} is not a string` }).min(1, `its ${name} is empty`).max(255, `its ${name} is over 255 characters`);

/** The claims §2.4 defines beyond those jwtVerify checks (iss, aud, iat, exp). */
const logoutClaims = z
  .looseObject({
    jti: claimText("jti"),
    sub: claimText("sub").optional(),
    sid: claimText("sid").optional(),
    events: z.looseObject(
      { [BACKCHANNEL_LOGOUT_EVENT]: z.looseObject({}, { error: `its events claim has no ${BACKCHANNEL_LOGOUT_EVENT} member that is an object` }) },
      { error: "it has no events claim (an object)" },
    ),
  })
  .refine((claims) => claims.sub !== undefined || claims.sid !== undefined, "it names neither sub nor sid")
  // An ID token carries a nonce; a logout token never does (§2.4), so one is never taken for the other.
  .refine((claims) => !Object.hasOwn(claims, "nonce"), "it carries a nonce");

/** A verified logout token's claims, as the route acts on them. */
export type LogoutClaims = { iss: string; jti: string; sub?: string; sid?: string; iat: number; exp?: number };

/**
 * What a logout token is: valid for these connections; refused (`connections` are those it
 * named, whose tenants hear of the refusal: none when it named no connection); or not
 * checkable now, the provider's keys unavailable.
 */
type LogoutTokenOutcome =
  | { kind: "valid"; claims: LogoutClaims; connections: SsoConnection[] }
  | { kind: "refused"; problem: string; connections: SsoConnection[] }
  | { kind: "keys-unavailable"; connections: SsoConnection[] };

type Signed = { kind: "verified"; payload: JWTPayload } | { kind: "refused"; problem: string } | { kind: "keys-unavailable" };

/** The issuer and audiences the token names of itself, before anything of it is trusted; or what it is instead. */
function addressedTo(token: string): { issuer: string; audiences: string[] } | string {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return "it is not a JWT";
  }
  const audiences = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === "string") : [];
  if (typeof claims.iss !== "string" || audiences.length === 0) return "it names no issuer or no audience";
  return { issuer: claims.iss, audiences: [...new Set(audiences)].slice(0, MAX_AUDIENCES) };
}

/** The connections of the token's issuer and any of its audiences (D1 unavailable: 503). */
function connectionsAddressed(db: Db, to: { issuer: string; audiences: string[] }): Promise<SsoConnection[]> {
  return failClosed("single sign-on connections", async () => {
    const found = (await Promise.all(to.audiences.map((aud) => connectionsForClient(db, to.issuer, aud)))).flat();
    return [...new Map(found.map((connection) => [connection.id, connection])).values()];
  });
}

/** The provider's key set at `jwksUri`, fetched; null when it cannot be had (logged). */
async function fetchKeySet(issuer: string, jwksUri: string): Promise<ReturnType<typeof createLocalJWKSet> | null> {
  const fetchOnce = providerRequestOptions(issuer, "jwks")[customFetch];
  try {
    const res = await fetchOnce(jwksUri, { method: "GET", redirect: "manual", headers: { accept: "application/json, application/jwk-set+json" } });
    const readable = res.status === 200 && Number(res.headers.get("content-length") ?? 0) <= MAX_KEY_SET_BYTES;
    if (!readable) await res.body?.cancel();
    const text = readable ? await res.text() : null;
    if (text === null || text.length > MAX_KEY_SET_BYTES) {
      log.warn("identity provider key set refused", { what: "jwks", status: res.status });
      return null;
    }
    return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
  } catch (err) {
    // ProviderUnreachable was logged by the provider fetch; a body that is not a key set is logged here.
    if (!(err instanceof ProviderUnreachable)) log.warn("identity provider key set unusable", { what: "jwks", error: errorSummary(err) });
    return null;
  }
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * The providers' key sets this isolate fetched, by jwks_uri, for five minutes: anyone can
 * post tokens that name a real connection, and each must not cost its provider a request
 * (providers rate-limit their key endpoints). A token signed by a key the cached set lacks
 * (the provider rotated) fetches the set again, at most once every thirty seconds; a set
 * that could not be had is not kept.
 */
const KEY_SET_TTL_MS = 5 * 60_000;
const KEY_SET_REFETCH_MS = 30_000;
const MAX_CACHED_KEY_SETS = 100;
type CachedKeySet = { keys: Promise<KeySet | null>; fetchedAtMs: number };
const keySets = new Map<string, CachedKeySet>();

function keySetOf(issuer: string, jwksUri: string, nowMs: number, refresh = false): CachedKeySet {
  const cached = keySets.get(jwksUri);
  if (cached && !refresh && nowMs - cached.fetchedAtMs < KEY_SET_TTL_MS) return cached;
  const entry: CachedKeySet = { keys: fetchKeySet(issuer, jwksUri), fetchedAtMs: nowMs };
  keySets.delete(jwksUri);
  if (keySets.size >= MAX_CACHED_KEY_SETS) keySets.delete(keySets.keys().next().value as string);
  keySets.set(jwksUri, entry);
  void entry.keys.then((keys) => {
    if (!keys && keySets.get(jwksUri) === entry) keySets.delete(jwksUri);
  });
  return entry;
}

/** Thrown by the key lookup below only, and turned into an outcome by verifySigned. */
class KeysUnavailable extends Error {}

/** The algorithms a connection's tokens may be signed with: those its provider advertises that Gatehouse verifies. */
const algorithmsOf = (provider: AuthorizationServer) => (provider.id_token_signing_alg_values_supported ?? []).filter((alg) => VERIFIABLE_ALGS.includes(alg));

/** What a refusal of jose's says, in the words of §2.6. */
function problemOf(err: InstanceType<typeof errors.JOSEError>): string {
  if (err instanceof errors.JWTExpired) return err.claim === "iat" ? `it was issued more than ${MAX_TOKEN_AGE_SECONDS} seconds ago` : "it has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return `it has no ${err.claim} claim`;
    if (err.claim === "iss") return "its issuer is not exactly the connection's";
    if (err.claim === "aud") return "its audience does not name the connection's client id";
    if (err.claim === "iat") return "it was issued in the future";
    return `its ${err.claim} claim is not valid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "its algorithm is not one the provider signs with (an asymmetric one it advertises)";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify with the provider's keys";
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return "no single key of the provider's key set matches it";
  return "it is not a signed JWT";
}

/** The token as `connection`'s provider signed it, with its iss, aud, iat and exp checked at `nowMs`. */
async function verifySigned(token: string, connection: SsoConnection, nowMs: number): Promise<Signed> {
  const provider = providerOf(connection);
  const jwksUri = provider.jwks_uri;
  // Fetched only once the header's algorithm passed: `alg: none` never costs a request to the provider.
  const key: JWTVerifyGetKey = async (header, jws) => {
    if (!jwksUri) throw new KeysUnavailable();
    const cached = keySetOf(connection.issuer, jwksUri, nowMs);
    const keys = await cached.keys;
    if (!keys) throw new KeysUnavailable();
    try {
      return await keys(header, jws);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || nowMs - cached.fetchedAtMs < KEY_SET_REFETCH_MS) throw err;
      const fresh = await keySetOf(connection.issuer, jwksUri, nowMs, true).keys;
      if (!fresh) throw new KeysUnavailable();
      return fresh(header, jws);
    }
  };
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: algorithmsOf(provider),
      issuer: connection.issuer,
      audience: connection.clientId,
      currentDate: new Date(nowMs),
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
    });
    return { kind: "verified", payload };
  } catch (err) {
    if (err instanceof KeysUnavailable) return { kind: "keys-unavailable" };
    if (err instanceof errors.JOSEError) return { kind: "refused", problem: problemOf(err) };
    throw err;
  }
}

/** The claims of a verified token that make it a logout token, or what is wrong with them. */
function logoutClaimsOf(payload: JWTPayload): LogoutClaims | string {
  const parsed = logoutClaims.safeParse(payload);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? "its claims are not a logout token's";
  const { jti, sub, sid } = parsed.data;
  return { iss: payload.iss as string, iat: payload.iat as number, ...(typeof payload.exp === "number" ? { exp: payload.exp } : {}), jti, ...(sub ? { sub } : {}), ...(sid ? { sid } : {}) };
}

/** Validates a logout token at `nowMs` (above); D1 unavailable is 503 AUTH_UNAVAILABLE. */
export async function validateLogoutToken(db: Db, token: string, nowMs: number): Promise<LogoutTokenOutcome> {
  const to = addressedTo(token);
  if (typeof to === "string") return { kind: "refused", problem: to, connections: [] };
  const connections = await connectionsAddressed(db, to);
  if (connections.length === 0) return { kind: "refused", problem: "no single sign-on connection has its issuer and audience", connections };
  const verified: SsoConnection[] = [];
  let payload: JWTPayload | null = null;
  let problem = "its signature does not verify with the provider's keys";
  for (const connection of connections) {
    const signed = await verifySigned(token, connection, nowMs);
    if (signed.kind === "keys-unavailable") return { kind: "keys-unavailable", connections };
    if (signed.kind === "refused") problem = signed.problem;
    else {
      verified.push(connection);
      payload = signed.payload;
    }
  }
  if (!payload) return { kind: "refused", problem, connections };
  const claims = logoutClaimsOf(payload);
  if (typeof claims === "string") return { kind: "refused", problem: claims, connections: verified };
  return { kind: "valid", claims, connections: verified };
}
