import type { Db } from "./db/client";
import type { PermissionOverrides, Role } from "./db/schema";
import type { AuthState } from "./sessions/cache";

export type Bindings = {
  DB: D1Database;
  SESSION_CACHE: KVNamespace;
  ASSETS?: Fetcher;
  /** Where Gatehouse's API, panel and JWKS live on the host (default /_gatehouse). */
  GATEHOUSE_PATH?: string;
  /** Gateway mode (src/gateway): the product, as a service binding (a Worker)… */
  ORIGIN?: Fetcher;
  /** …or as an HTTP origin (scheme, host, port). */
  ORIGIN_URL?: string;
  /** Paths of the product anyone may load (JSON array or comma list of globs). */
  PUBLIC_PATHS?: string;
  /** The identity assertion's `aud` and `iss`. */
  ASSERTION_AUDIENCE?: string;
  ASSERTION_ISSUER?: string;
  /** Secret: a JWK set of EC P-256 private keys; the first signs, all are published. */
  ASSERTION_SIGNING_KEYS?: string;
  SESSION_ABSOLUTE_TIMEOUT_SECONDS?: string;
  SESSION_IDLE_TIMEOUT_SECONDS?: string;
  /** Days of audit history kept by the retention cron (default 400). */
  AUDIT_RETENTION_DAYS?: string;
  /** Longest an impersonation lasts (default 1800). */
  IMPERSONATION_MAX_SECONDS?: string;
  /** The product's step-up purposes, a JSON array (src/stepup/product-purposes.ts). */
  PRODUCT_STEP_UP_PURPOSES?: string;
  /**
   * base64url of 32 random bytes; `wrangler secret put TOTP_ENCRYPTION_KEY`. Seals TOTP
   * secrets, and (through HKDF) keys the sign-in device cookies: required for sign-in.
   */
  TOTP_ENCRYPTION_KEY?: string;
  /** base64url of 32 random bytes; `wrangler secret put AUDIT_CHECKPOINT_KEY`. HMAC key of retention checkpoints. */
  AUDIT_CHECKPOINT_KEY?: string;
  /** Sign-in attempts per client address (`[[ratelimits]]`); D1 counts them without it. */
  LOGIN_ADDRESS_LIMITER?: RateLimit;
};

/** The user as the edge check knows it: everything authorisation needs, cached in KV. */
export type AuthUser = {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  role: Role;
  sessionVersion: number;
  disabledAt: number | null;
  totpEnabled: boolean;
  permissionOverrides: PermissionOverrides | null;
};

/** The session as the edge check knows it (KV copy of the D1 row's security fields). */
export type AuthSession = {
  id: string;
  tenantId: string;
  userId: string;
  tokenHash: string;
  sessionVersion: number;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
  /** How the user authenticated at sign-in (RFC 8176), e.g. ["pwd", "otp"]. */
  amr: string[];
  /** Set while the session's user acts as another user of the tenant. */
  impersonation: { userId: string; reason: string; startedAt: number; expiresAt: number } | null;
};

export type Variables = {
  /** Drizzle over this request's DB binding. */
  db: Db;
  requestId: string;
  /** Milliseconds since the epoch, read once per request from the app's clock. */
  now: number;
  /** Whom the request acts as: the impersonated user while impersonating. */
  user: AuthUser;
  session: AuthSession;
  /** The session's state as the session check admitted it (src/sessions/middleware.ts). */
  authState: AuthState;
  /** Set once the whole edge check admitted a product request (gateway mode). */
  edgePassed?: boolean;
  /** The session's own user (the admin, while impersonating). */
  realUser: AuthUser;
  /** Who really acts: differs from `user` while an admin impersonates. */
  actor: { realUserId: string | null; isImpersonating: boolean };
  /** What the session cookie identifies (secret verified), whatever the session's state; see identifySession. */
  identifiedSession?: AuthState | null;
  /** Set once this request's refusal has its FAIL row (written or counted); see src/audit/refusal.ts. */
  refusalRecorded?: boolean;
};

export type AppEnv = { Bindings: Bindings; Variables: Variables };
