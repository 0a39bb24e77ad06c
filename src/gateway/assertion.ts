/**
 * The identity assertion: a short-lived ES256 JWT that Gatehouse adds to every request it
 * forwards to the product (header `Gatehouse-Jwt-Assertion`). The origin verifies it against
 * Gatehouse's JWKS and trusts nothing else about the caller.
 *
 * Signing costs an ECDSA operation, so a hot session reuses its token until
 * REUSE_MARGIN_SECONDS before expiry. The reuse key fingerprints everything the claims
 * derive from; any change (revocation bumps session_version, a role or permission change,
 * impersonation start/exit, key rotation, another audience) yields a new key, so a stale
 * token is never handed out again.
 */
import { type JSONWebKeySet, SignJWT, createLocalJWKSet, jwtVerify } from "jose";
import { array, number, object, optional, string, type output } from "zod";
import { randomId } from "../lib/crypto";
import { ASSERTION_ALG, type AssertionKeys } from "./assertion-keys";

export const ASSERTION_HEADER = "Gatehouse-Jwt-Assertion";
/** The longest an assertion lives; the origin also refuses anything older (maxTokenAge). */
export const ASSERTION_LIFETIME_SECONDS = 60;
/** A cached token is not handed out when it has less than this left to live. */
export const REUSE_MARGIN_SECONDS = 20;
export const REUSE_CACHE_MAX_ENTRIES = 1000;

/** Everything the claims derive from, as the edge check knows it after impersonation. */
export type AssertionSubject = {
  sessionId: string;
  /** The user's session_version: bumped by force logout, so it ends reuse. */
  sessionVersion: number;
  tenantId: string;
  /** Whom the request acts as (the impersonated user while impersonating). */
  user: { id: string; email: string; name: string; role: string; permissions: string[] };
  /** How the session's user authenticated, e.g. ["pwd", "otp"]. */
  amr: string[];
  /** The real user while impersonating (RFC 8693 `act`); null otherwise. */
  actor: { id: string; email: string; name: string } | null;
  /** The assertion never outlives this (the session's or the impersonation's end). */
  notAfterMs?: number;
};

/** The session or impersonation ends within this second: no token can honestly outlive it. */
export class SubjectEndedError extends RangeError {
  constructor() {
    super("the subject's session or impersonation ends within this second");
    this.name = "SubjectEndedError";
  }
}

export type SignAssertionOptions = {
  keys: AssertionKeys;
  issuer: string;
  audience: string;
  nowMs: number;
  /** The per-isolate reuse cache; pass a fresh one in tests. */
  cache?: AssertionCache;
};

type CachedToken = { token: string; iatSeconds: number; expSeconds: number };

/** A small LRU of signed tokens, keyed by the fingerprint of their claims' sources. */
export class AssertionCache {
  private readonly entries = new Map<string, CachedToken>();
  constructor(readonly maxEntries = REUSE_CACHE_MAX_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowSeconds: number): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (nowSeconds < entry.iatSeconds || nowSeconds >= entry.expSeconds - REUSE_MARGIN_SECONDS) {
      this.entries.delete(key);
      return null;
    }
    this.entries.delete(key); // most recently used goes last
    this.entries.set(key, entry);
    return entry.token;
  }

  set(key: string, entry: CachedToken): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

const isolateCache = new AssertionCache();

/** The reuse key: every input of the claims, plus the signing kid and the audience. */
export function assertionFingerprint(subject: AssertionSubject, options: Pick<SignAssertionOptions, "keys" | "issuer" | "audience">): string {
  const { user, actor } = subject;
  return JSON.stringify([
    options.keys.kid,
    options.issuer,
    options.audience,
    subject.sessionId,
    subject.sessionVersion,
    subject.tenantId,
    [user.id, user.email, user.name, user.role, user.permissions],
    subject.amr,
    actor ? [actor.id, actor.email, actor.name] : null,
    subject.notAfterMs ?? null,
  ]);
}

/** The assertion for this subject: reused while its state is unchanged and fresh enough, else signed anew. */
export async function signAssertion(subject: AssertionSubject, options: SignAssertionOptions): Promise<string> {
  const cache = options.cache ?? isolateCache;
  const nowSeconds = Math.floor(options.nowMs / 1000);
  const key = assertionFingerprint(subject, options);
  const reused = cache.get(key, nowSeconds);
  if (reused) return reused;

  let expSeconds = nowSeconds + ASSERTION_LIFETIME_SECONDS;
  if (subject.notAfterMs !== undefined) expSeconds = Math.min(expSeconds, Math.floor(subject.notAfterMs / 1000));
  if (expSeconds <= nowSeconds) throw new SubjectEndedError();

  const { user, actor } = subject;
  const token = await new SignJWT({
    tid: subject.tenantId,
    sid: subject.sessionId,
    email: user.email,
    name: user.name,
    role: user.role,
    permissions: user.permissions,
    amr: subject.amr,
    ...(actor ? { act: { sub: actor.id, email: actor.email, name: actor.name } } : {}),
  })
    .setProtectedHeader({ alg: ASSERTION_ALG, kid: options.keys.kid, typ: "JWT" })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(user.id)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(expSeconds)
    .setJti(randomId())
    .sign(options.keys.signingKey);
  cache.set(key, { token, iatSeconds: nowSeconds, expSeconds });
  return token;
}

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

export type VerifyAssertionOptions = { jwks: JSONWebKeySet; issuer: string; audience: string; nowMs: number };

/**
 * Verifies an assertion as an origin must: ES256 only, a key from the JWKS, iss, aud, exp,
 * and an iat no older than the lifetime. Throws (jose's errors) on anything else.
 */
export async function verifyAssertion(token: string, options: VerifyAssertionOptions): Promise<AssertionClaims> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(options.jwks), {
    algorithms: [ASSERTION_ALG],
    issuer: options.issuer,
    audience: options.audience,
    currentDate: new Date(options.nowMs),
    maxTokenAge: ASSERTION_LIFETIME_SECONDS,
    requiredClaims: ["sub", "iat", "exp", "jti"],
  });
  return claimsSchema.parse(payload);
}
