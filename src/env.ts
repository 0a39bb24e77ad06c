import type { Db } from "./db/client";
import type { PermissionOverrides, Role } from "./db/schema";
import type { AuthState } from "./sessions/cache";

/**
 * What wrangler.toml declares, as `wrangler types` generates it into worker-configuration.d.ts
 * (the global `Env`; regenerate with `npm run types`, `npm run check:types` fails when it is stale).
 * Only the storage is required: every var has a default in code and tests run without
 * ASSETS or the rate limiter, so the rest stays optional here.
 */
type Declared = Pick<Env, "DB" | "SESSION_CACHE"> & Partial<Omit<Env, "DB" | "SESSION_CACHE">>;

/**
 * Secrets, written by hand: `wrangler types` would infer them from .dev.vars, which exists only
 * on machines that ran `npm start` (generation ignores it for a reproducible file), and declaring
 * them in wrangler.toml (`[secrets] required`) would make every deploy need the gateway's keys
 * and make `wrangler dev` drop any other .dev.vars entry.
 */
type Secrets = {
  /** A JWK set of EC P-256 private keys; the first signs, all are published (gateway mode). */
  ASSERTION_SIGNING_KEYS?: string;
  /**
   * base64url of 32 random bytes; `wrangler secret put TOTP_ENCRYPTION_KEY`. Seals TOTP
   * secrets, and (through HKDF) keys the sign-in device cookies: required for sign-in.
   */
  TOTP_ENCRYPTION_KEY?: string;
  /** base64url of 32 random bytes; `wrangler secret put AUDIT_CHECKPOINT_KEY`. HMAC key of retention checkpoints. */
  AUDIT_CHECKPOINT_KEY?: string;
  /**
   * A key set (src/lib/key-set.ts) of 32-byte keys: HMAC keys of the session snapshots the
   * edge check trusts without a per-session read. Unset: no snapshots, every request reads KV.
   */
  SESSION_SNAPSHOT_KEYS?: string;
};

/** Gateway mode (src/gateway): settings an operator adds to wrangler.toml when it puts a product behind Gatehouse. */
type GatewaySettings = {
  /** The product, as a service binding (a Worker)… */
  ORIGIN?: Fetcher;
  /** …or as an HTTP origin (scheme, host, port). */
  ORIGIN_URL?: string;
  /** Paths of the product anyone may load (JSON array or comma list of globs). */
  PUBLIC_PATHS?: string;
  /** The identity assertion's `aud` and `iss`. */
  ASSERTION_AUDIENCE?: string;
  ASSERTION_ISSUER?: string;
  /** The product's step-up purposes, a JSON array (src/stepup/product-purposes.ts). */
  PRODUCT_STEP_UP_PURPOSES?: string;
};

/*
 * Declared in wrangler.toml (see worker-configuration.d.ts): DB, SESSION_CACHE, ASSETS,
 * LOGIN_ADDRESS_LIMITER (sign-in attempts per client address; D1 counts them without it),
 * GATEHOUSE_PATH (where the API, panel and JWKS live; default /_gatehouse),
 * SESSION_ABSOLUTE_TIMEOUT_SECONDS, SESSION_IDLE_TIMEOUT_SECONDS, AUDIT_RETENTION_DAYS
 * (audit history the retention cron keeps; default 400), IMPERSONATION_MAX_SECONDS (default 1800).
 */
export type Bindings = Declared & GatewaySettings & Secrets;

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
