import type { Db } from "./db/client";
import type { PermissionOverrides, Role } from "./db/schema";
import type { AuthState } from "./sessions/cache";

/**
 * What wrangler.toml declares, as `wrangler types` generates it into worker-configuration.d.ts
 * (the global `Env`; regenerate with `npm run types`, `npm run check:types` fails when it is stale).
 * Only the storage (D1, KV and the tenants' Durable Objects) is required: every var has a default in code and tests run without
 * ASSETS or the rate limiter, so the rest stays optional here.
 */
type Declared = Pick<Env, "DB" | "SESSION_CACHE" | "TENANT"> & Partial<Omit<Env, "DB" | "SESSION_CACHE" | "TENANT">>;

/**
 * Secrets, as the worker reads them. wrangler.toml's `[secrets] required` names every one (a
 * deploy refuses to go out with one unset), so `wrangler types` declares them too; here they
 * stay optional with their format, since the tests and local mode may leave some unset and
 * the code answers 503 for a missing one. Key sets (src/lib/key-set.ts) are parsed by
 * parseConfig at startup.
 */
type Secrets = {
  /** A JWK set of EC P-256 private keys; the first signs, all are published (gateway mode). */
  ASSERTION_SIGNING_KEYS?: string;
  /**
   * A key set of 32-byte keys, or one bare base64url key; `wrangler secret put TOTP_ENCRYPTION_KEY`.
   * Seals TOTP secrets, and (through HKDF) keys the sign-in device cookies: required for sign-in.
   */
  TOTP_ENCRYPTION_KEY?: string;
  /** A key set (keys of at least 32 bytes), or one bare key; `wrangler secret put AUDIT_CHECKPOINT_KEY`. HMAC keys of retention checkpoints. */
  AUDIT_CHECKPOINT_KEY?: string;
  /**
   * A key set (src/lib/key-set.ts) of 32-byte keys: HMAC keys of the session snapshots the
   * edge check trusts without a per-session read. Unset: no snapshots, every request reads KV.
   */
  SESSION_SNAPSHOT_KEYS?: string;
  /** HMAC-SHA256 key signing the email hook's requests (src/email); required with EMAIL_WEBHOOK_URL. */
  EMAIL_WEBHOOK_SECRET?: string;
  /** Product webhooks' signing secret, `whsec_<base64 of 24-64 bytes>` (src/webhooks/config.ts); required with WEBHOOK_URL. */
  WEBHOOK_SECRET?: string;
  /** Bearer token of the operator API (src/operator); without it that API does not exist. */
  OPERATOR_TOKEN?: string;
  /**
   * The product's HTTP API credentials (src/product-api): a JSON array or comma list of
   * tokens (at least 32 characters each) or their `sha256:<hex>` digests; several at once
   * while rotating. Without it that API does not exist.
   */
  PRODUCT_API_TOKENS?: string;
};

/** The email hook (src/email): an HTTPS endpoint of the product that delivers Gatehouse's messages. Optional. */
type EmailSettings = {
  EMAIL_WEBHOOK_URL?: string;
};

/** Product webhooks (src/webhooks, docs/webhooks.md): the product's endpoint, and the queue that carries the work. Optional. */
type WebhookSettings = {
  WEBHOOK_URL?: string;
  WEBHOOK_QUEUE?: Queue;
};

/** Optional settings an operator adds to wrangler.toml's [vars] (docs/integrate.md "Settings", docs/deploy.md). */
type OptionalSettings = {
  /** Have I Been Pwned's range API base URL, or `off` (src/lib/breached-passwords.ts). */
  PWNED_PASSWORDS_API?: string;
  /** The product's name, logo, accent colour and home on the pages its users see (src/panel/branding.ts). */
  PRODUCT_NAME?: string;
  PRODUCT_LOGO_URL?: string;
  PRODUCT_ACCENT_COLOR?: string;
  PRODUCT_URL?: string;
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
  /** Product routes that need a step-up: method + path pattern -> product purpose (src/gateway/step-up-routes.ts). */
  STEP_UP_ROUTES?: string;
  /** The product's step-up purposes, a JSON array (src/stepup/product-purposes.ts). */
  PRODUCT_STEP_UP_PURPOSES?: string;
  /** Where `<GATEHOUSE_PATH>/sign-out` lands once the session has ended: a same-origin path, default "/". */
  SIGN_OUT_PATH?: string;
};

/** Optional bindings an operator adds to wrangler.toml (docs/operations.md). */
type OptionalBindings = {
  /** R2 bucket receiving each pruned audit chunk before it is deleted (src/audit/archive.ts). */
  AUDIT_ARCHIVE?: R2Bucket;
};

/*
 * Declared in wrangler.toml (see worker-configuration.d.ts): DB, SESSION_CACHE, ASSETS,
 * LOGIN_ADDRESS_LIMITER (sign-in attempts per client address; D1 counts them without it),
 * METRICS (Analytics Engine counters, src/lib/metrics.ts; nothing is written without it),
 * CF_VERSION_METADATA (the deployed version, reported by the deep health check),
 * GATEHOUSE_PATH (where the API, panel and JWKS live; default /_gatehouse),
 * SESSION_ABSOLUTE_TIMEOUT_SECONDS, SESSION_IDLE_TIMEOUT_SECONDS, AUDIT_RETENTION_DAYS
 * (audit history the retention cron keeps; default 400), IMPERSONATION_MAX_SECONDS (default 1800).
 */
export type Bindings = Declared & GatewaySettings & EmailSettings & WebhookSettings & OptionalSettings & Secrets & OptionalBindings;

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
  /** How many passkeys the user has (users.passkey_count). */
  passkeyCount: number;
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
  /**
   * Who a product request is to the product (gateway mode, src/gateway/routes.ts): "admitted"
   * once the edge check admitted it and the enrolment gate let it stay so, else "anonymous"
   * (a public path). Unset elsewhere.
   */
  productIdentity?: "admitted" | "anonymous";
  /** The session's own user (the admin, while impersonating). */
  realUser: AuthUser;
  /**
   * Who acts when no user does: a tenant's SCIM token (src/scim/token.ts). Every audit row
   * the request writes belongs to `tenantId`, names no actor user and carries `metadata`
   * (`{ by: "scim", scimTokenId }`); it never stands for a user anywhere else.
   */
  auditActor?: { tenantId: string; metadata: Record<string, unknown> };
  /** The SCIM token a SCIM request authenticated with (src/scim/token.ts): the tenant it acts in. */
  scimToken?: { id: string; tenantId: string };
  /** Who really acts: differs from `user` while an admin impersonates. */
  actor: { realUserId: string | null; isImpersonating: boolean };
  /** What the session cookie identifies (secret verified), whatever the session's state; see identifySession. */
  identifiedSession?: AuthState | null;
  /** Set when the answer is the product origin's, passed through as it is (src/gateway/routes.ts; src/lib/own-answer-headers.ts leaves it alone). */
  answeredByOrigin?: boolean;
  /** Set when the tenant requires two-factor and the real user has none yet (src/tenant/enrolment-gate.ts). */
  mfaEnrollmentRequired?: boolean;
  /** Set once this request's refusal has its FAIL row (written or counted); see src/audit/refusal.ts. */
  refusalRecorded?: boolean;
};

export type AppEnv = { Bindings: Bindings; Variables: Variables };
