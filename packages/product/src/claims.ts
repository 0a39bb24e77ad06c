/**
 * The identity assertion as a product receives it: the header Gatehouse sets on every
 * request it forwards, and the claims of the ES256 JWT in it (Gatehouse signs them in
 * src/gateway/assertion.ts; test/product-package.test.ts keeps the two in step).
 */

/** The request header holding the assertion. */
export const ASSERTION_HEADER = "Gatehouse-Jwt-Assertion";

/** Gatehouse signs an assertion for at most this long; an older `iat` is refused whatever `exp` says. */
export const ASSERTION_MAX_AGE_SECONDS = 60;

/** The clock skew a verifier allows between Gatehouse and the origin (on `exp` and the `iat` age). */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** The verified claims. The tenant is `tid`, the user `sub`, the rights `role`/`permissions`: nothing else about the caller is trusted. */
export type AssertionClaims = {
  iss: string;
  aud: string | string[];
  /** Whom the request acts as (the impersonated user while an admin impersonates). */
  sub: string;
  /** The tenant. */
  tid: string;
  /** The Gatehouse session: what the RPC and the product HTTP API name. */
  sid: string;
  email: string;
  name: string;
  role: string;
  permissions: string[];
  /** How the session signed in (RFC 8176), e.g. ["pwd", "otp", "mfa"]. */
  amr: string[];
  iat: number;
  exp: number;
  jti: string;
  /** Present only while an administrator (act.sub) acts as the user (sub), RFC 8693. */
  act?: { sub: string; email: string; name: string } | undefined;
};
