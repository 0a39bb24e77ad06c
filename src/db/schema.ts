
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Times are Unix epoch milliseconds. JSON columns hold small objects only.

// Roles and permissions are defined once, in the import-free vocabulary module.
import { type PermissionOverrides, ROLES } from "../lib/permissions";
import { REVOKE_REASONS } from "../sessions/views";
import { PHISHING_RESISTANT_SCOPES } from "../tenant/policy-vocabulary";
import { SSO_PROTOCOLS, SSO_PROVISIONED_ROLES } from "../sso/vocabulary";
export { ROLES, type PermissionOverrides, type Role } from "../lib/permissions";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  createdAt: integer("created_at").notNull(),
  // Set by the operator (src/operator): its users cannot sign in, its sessions were ended.
  disabledAt: integer("disabled_at"),
  /** Tenant policy (owner only): every member must have TOTP before using anything but enrolment. */
  requireTwoFactor: integer("require_two_factor", { mode: "boolean" }).notNull().default(false),
  /**
   * Tenant policy (owner only): who must step up with a passkey, the phishing-resistant
   * factor, where a second factor is asked for (src/stepup/phishing-resistance.ts).
   */
  requirePhishingResistant: text("require_phishing_resistant", { enum: PHISHING_RESISTANT_SCOPES }).notNull().default("off"),
});

/** `col IN ('a', 'b', …)` for a CHECK, from one of the vocabulary lists. */
const oneOf = (column: unknown, values: readonly string[]) => sql`${column} IN (${sql.raw(values.map((v) => `'${v}'`).join(", "))})`;

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    // Unique among members not removed (users_email_current_uq): a removed member's tombstone
    // keeps its email, and the same person can be invited again as a new account.
    email: text("email").notNull(),
    displayName: text("display_name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    passwordHash: text("password_hash").notNull(),
    sessionVersion: integer("session_version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    disabledAt: integer("disabled_at"),
    /**
     * Removed from the tenant. The row stays (a tombstone, also disabled, its credentials
     * wiped): user_sessions and recovery_codes reference it by foreign key, and the audit
     * chain names it as actor and target, so deleting it would either fail or leave the
     * tenant's history pointing at nobody.
     */
    removedAt: integer("removed_at"),
    // TOTP (RFC 6238). Secrets are AES-GCM encrypted with the TOTP_ENCRYPTION_KEY secret.
    totpSecretEnc: text("totp_secret_enc"),
    totpPendingSecretEnc: text("totp_pending_secret_enc"),
    // The session that started the pending enrolment: only it may confirm.
    totpPendingSessionId: text("totp_pending_session_id"),
    totpEnabled: integer("totp_enabled", { mode: "boolean" }).notNull().default(false),
    // Highest time step ever accepted: a code at or below it is a replay.
    totpLastStep: integer("totp_last_step"),
    // How many passkeys the user has: kept by every batch that adds or removes one
    // (passkeyCountStatement, src/passkeys/store.ts), so the session state needs no join.
    passkeyCount: integer("passkey_count").notNull().default(0),
    // SCIM's externalId for this member, as the tenant's provider sent it (src/scim).
    scimExternalId: text("scim_external_id"),
    // Permissions granted or revoked beyond the role's.
    permissionOverrides: text("permission_overrides", { mode: "json" }).$type<PermissionOverrides>(),
  },
  (t) => [
    index("users_tenant_idx").on(t.tenantId, t.email),
    // Look-ups by email go through findCurrentUserByEmail (src/users/service.ts), which this index serves.
    uniqueIndex("users_email_current_uq").on(t.email).where(sql`removed_at IS NULL`),
    // A bad row is refused by D1, not discovered at sign-in.
    check("users_role_known", oneOf(t.role, ROLES)),
    // Emails are stored as normaliseEmail leaves them (src/lib/email.ts): trimmed, lower-case.
    check("users_email_normalised", sql`${t.email} = lower(trim(${t.email})) AND length(${t.email}) > 0`),
  ],
);

// An invitation to join a tenant with a role. The link carries `<id>.<secret>`; only
// SHA-256(secret) is stored. Pending while accepted_at, revoked_at are NULL and it has not expired.
export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    // NULL when the operator invited the tenant's first owner.
    invitedBy: text("invited_by"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    acceptedUserId: text("accepted_user_id"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    index("invitations_tenant_idx").on(t.tenantId, t.createdAt),
    // One open invitation (pending or expired, neither accepted nor revoked) per email and tenant: re-send it instead.
    uniqueIndex("invitations_open_email_uq").on(t.tenantId, t.email).where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
    check("invitations_role_known", oneOf(t.role, ROLES)),
    check("invitations_email_normalised", sql`${t.email} = lower(trim(${t.email})) AND length(${t.email}) > 0`),
    check("invitations_single_outcome", sql`${t.acceptedAt} IS NULL OR ${t.revokedAt} IS NULL`),
  ],
);

export const userSessions = sqliteTable(
  "user_sessions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    // SHA-256 of the cookie's secret half; the secret itself is never stored.
    tokenHash: text("token_hash").notNull(),
    sessionVersion: integer("session_version").notNull(),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    ip: text("ip"),
    country: text("country"),
    city: text("city"),
    userAgent: text("user_agent"),
    deviceFingerprint: text("device_fingerprint"),
    revokedAt: integer("revoked_at"),
    revokeReason: text("revoke_reason", { enum: REVOKE_REASONS }),
    /** `amr`: how the session's user authenticated at sign-in (RFC 8176 values, e.g. ["pwd", "otp"]). */
    metadata: text("metadata", { mode: "json" }).$type<{ amr?: string[] }>(),
    // Impersonation lives on the admin's own session: it ends with that session.
    impersonatedUserId: text("impersonated_user_id"),
    impersonationReason: text("impersonation_reason"),
    impersonationStartedAt: integer("impersonation_started_at"),
    impersonationExpiresAt: integer("impersonation_expires_at"),
    // Started by single sign-on: the connection, and the provider's `sub` and `sid` (its
    // session), which a back-channel logout names (src/sso).
    ssoConnectionId: text("sso_connection_id"),
    ssoSubject: text("sso_subject"),
    ssoSid: text("sso_sid"),
  },
  (t) => [
    index("user_sessions_user_last_seen_idx").on(t.tenantId, t.userId, t.lastSeenAt),
    // The tenant's recent revocations, read whenever its edge document is built.
    index("user_sessions_tenant_revoked_idx").on(t.tenantId, t.revokedAt),
    // A back-channel logout finds the sessions a provider's subject or session started.
    index("user_sessions_sso_subject_idx").on(t.ssoConnectionId, t.ssoSubject).where(sql`sso_connection_id IS NOT NULL`),
    index("user_sessions_sso_sid_idx").on(t.ssoConnectionId, t.ssoSid).where(sql`sso_sid IS NOT NULL`),
  ],
);

// Single-use password reset links (1 hour): only SHA-256 of the 256-bit token is stored.
export const passwordResetTokens = sqliteTable(
  "password_reset_tokens",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    tokenHash: text("token_hash").notNull(),
    /** The admin who asked for it; null when the user asked (forgot password). */
    requestedBy: text("requested_by"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [uniqueIndex("password_reset_tokens_hash_uq").on(t.tokenHash), index("password_reset_tokens_user_idx").on(t.userId)],
);

/**
 * The fingerprint of each user's and session's security state, as of its last change, for
 * the tenant's edge document (src/edge-document/staleness.ts records them, src/edge-document/build.ts
 * builds the document): rows older than the
 * document's window are pruned by the writer. The document is rebuilt from these rows (and
 * the recent revocations) at every write, so concurrent writers never lose each other's change.
 */
export const sessionStateChanges = sqliteTable(
  "session_state_changes",
  {
    tenantId: text("tenant_id").notNull(),
    subjectType: text("subject_type", { enum: ["user", "session"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    fingerprint: text("fingerprint").notNull(),
    changedAt: integer("changed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.subjectType, t.subjectId] }), index("session_state_changes_recent_idx").on(t.tenantId, t.changedAt)],
);

export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    // SHA-256 of the code: codes have 80 bits of entropy, so a fast hash suffices.
    codeHash: text("code_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("recovery_codes_user_idx").on(t.userId, t.codeHash)],
);

export const stepupChallenges = sqliteTable(
  "stepup_challenges",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    sessionId: text("session_id").notNull(),
    purpose: text("purpose").notNull(),
    method: text("method").notNull(),
    createdAt: integer("created_at").notNull(),
    verifiedAt: integer("verified_at"),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    // Whom the session was acting as when the grant was earned (the impersonated user), null as itself.
    actingAsUserId: text("acting_as_user_id"),
  },
  (t) => [index("stepup_challenges_session_idx").on(t.sessionId, t.purpose, t.expiresAt)],
);

/**
 * A WebAuthn credential (a passkey) of a user. Only its public key and the counters the
 * relying party keeps are stored: nothing here is secret.
 */
export const passkeys = sqliteTable(
  "passkeys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    // The credential id, base64url, as the authenticator gave it: unique across tenants.
    credentialId: text("credential_id").notNull().unique(),
    // COSE public key, base64url.
    publicKey: text("public_key").notNull(),
    // The authenticator's signature counter (0 for those that keep none, synced passkeys among them).
    signCount: integer("sign_count").notNull().default(0),
    transports: text("transports", { mode: "json" }).$type<string[]>(),
    // Multi-device (synced) credential: the key lives in a cloud keychain, not one device.
    backedUp: integer("backed_up", { mode: "boolean" }).notNull().default(false),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [index("passkeys_user_idx").on(t.userId, t.createdAt)],
);

/**
 * A WebAuthn challenge Gatehouse issued: single use (used_at), short-lived, and bound to what
 * it was issued for: a registration or a step-up to one session (and a step-up to one
 * purpose), a sign-in to nothing but itself. Only its SHA-256 is kept.
 */
export const webauthnChallenges = sqliteTable(
  "webauthn_challenges",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["registration", "sign-in", "step-up"] }).notNull(),
    challengeHash: text("challenge_hash").notNull().unique(),
    sessionId: text("session_id"),
    userId: text("user_id"),
    purpose: text("purpose"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("webauthn_challenges_expiry_idx").on(t.expiresAt)],
);

/**
 * A tenant's single sign-on connection (src/sso): at most one per tenant. `protocol` names
 * how it speaks to the identity provider (OIDC today; the columns after it are OIDC's, and
 * a second protocol adds its own beside them). The client secret is sealed under the
 * TOTP_ENCRYPTION_KEY key set (`<key id>:<AES-GCM>`, src/lib/key-set.ts) and never returned.
 */
export const ssoConnections = sqliteTable(
  "sso_connections",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .unique()
      .references(() => tenants.id),
    protocol: text("protocol", { enum: SSO_PROTOCOLS }).notNull(),
    issuer: text("issuer").notNull(),
    clientId: text("client_id").notNull(),
    clientSecretEnc: text("client_secret_enc").notNull(),
    /** The provider's discovery document as validated when the connection was saved (JSON). */
    providerMetadata: text("provider_metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** Sign-in creates a member for a verified email of the connection's domains that has none. */
    jitProvisioning: integer("jit_provisioning", { mode: "boolean" }).notNull().default(false),
    /** The role a member created by sign-in or SCIM gets: never owner. */
    defaultRole: text("default_role", { enum: SSO_PROVISIONED_ROLES }).notNull().default("member"),
    /** Members sign in through the provider only; owners keep a break-glass password + second factor. */
    requireSso: integer("require_sso", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [check("sso_connections_protocol_known", oneOf(t.protocol, SSO_PROTOCOLS)), check("sso_connections_default_role", oneOf(t.defaultRole, SSO_PROVISIONED_ROLES))],
);

/** The email domains a connection signs in: a domain belongs to at most one tenant (the primary key). */
export const ssoDomains = sqliteTable(
  "sso_domains",
  {
    domain: text("domain").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    connectionId: text("connection_id")
      .notNull()
      .references(() => ssoConnections.id),
  },
  (t) => [index("sso_domains_connection_idx").on(t.connectionId), check("sso_domains_normalised", sql`${t.domain} = lower(trim(${t.domain})) AND length(${t.domain}) > 0`)],
);

/**
 * A sign-in sent to the provider and not yet back: single use (used_at), 10 minutes, bound
 * to the browser that started it by a cookie whose SHA-256 is `binding_hash`. Only hashes of
 * `state`, the nonce and the binding are kept; the PKCE verifier is sealed like the client secret.
 */
export const ssoFlows = sqliteTable(
  "sso_flows",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    connectionId: text("connection_id").notNull(),
    stateHash: text("state_hash").notNull().unique(),
    nonceHash: text("nonce_hash").notNull(),
    bindingHash: text("binding_hash").notNull(),
    codeVerifierEnc: text("code_verifier_enc").notNull(),
    returnTo: text("return_to"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("sso_flows_expiry_idx").on(t.expiresAt)],
);

/**
 * Who a member is at a tenant's provider: the `sub` the connection's ID tokens carry, linked
 * at their first SSO sign-in (by normalised email) or when sign-in created them.
 */
export const ssoIdentities = sqliteTable(
  "sso_identities",
  {
    connectionId: text("connection_id")
      .notNull()
      .references(() => ssoConnections.id),
    subject: text("subject").notNull(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
    lastSignInAt: integer("last_sign_in_at"),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.subject] }), // User first: the Team page asks, per member, whether any identity links them.
    uniqueIndex("sso_identities_user_uq").on(t.userId, t.connectionId)],
);

/** Back-channel logout tokens already acted on: `jti` is single use per issuer until the token expires. */
export const ssoLogoutTokens = sqliteTable("sso_logout_tokens", {
  // SHA-256 of `<issuer> <jti>`.
  key: text("key").primaryKey(),
  expiresAt: integer("expires_at").notNull(),
});

/**
 * A tenant's SCIM bearer token (src/scim): one per tenant (a new one replaces the old), shown
 * once, only its SHA-256 kept. `created_by` is the owner who made it: it stops working when
 * they are no longer an owner.
 */
export const scimTokens = sqliteTable("scim_tokens", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id")
    .notNull()
    .unique()
    .references(() => tenants.id),
  tokenHash: text("token_hash").notNull().unique(),
  createdBy: text("created_by")
    .notNull()
    .references(() => users.id),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
});

export const ipRules = sqliteTable(
  "ip_rules",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    action: text("action", { enum: ["allow", "deny"] }).notNull(),
    cidr: text("cidr").notNull(),
    description: text("description"),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    expiresAt: integer("expires_at"),
  },
  (t) => [uniqueIndex("ip_rules_tenant_action_cidr_uq").on(t.tenantId, t.action, t.cidr)],
);

// Keys that must happen at most once (an impersonation's end: the INSERT that creates
// the key tells the first writer apart) and per-minute counters of repeated refusals
// (an upsert counts them, src/audit/dedupe.ts).
export const eventDedupe = sqliteTable("event_dedupe", {
  key: text("key").primaryKey(),
  expiresAt: integer("expires_at").notNull(),
  count: integer("count").notNull().default(1),
});

/** The columns of an audit event, as its writer commits it (everything but its place in the chain). */
const auditEventColumns = () => ({
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  actorUserId: text("actor_user_id"),
  realUserId: text("real_user_id"),
  isImpersonating: integer("is_impersonating", { mode: "boolean" }).notNull().default(false),
  action: text("action").notNull(),
  outcome: text("outcome", { enum: ["SUCCESS", "FAIL"] }).notNull(),
  targetType: text("target_type"),
  targetId: text("target_id"),
  ip: text("ip"),
  userAgent: text("user_agent"),
  country: text("country"),
  city: text("city"),
  failureReason: text("failure_reason"),
  before: text("before", { mode: "json" }).$type<unknown>(),
  after: text("after", { mode: "json" }).$type<unknown>(),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
  requestId: text("request_id"),
  createdAt: integer("created_at").notNull(),
});

/**
 * A tenant's audit chain. It lives in the tenant's Durable Object (its SQLite storage,
 * src/tenant-object/audit-store.ts creates this table there); the D1 table of this name
 * only holds the rows written before the chain moved there, which each tenant's object
 * imports on its first drain (src/tenant-object/audit-drain.ts).
 */
export const auditLogs = sqliteTable(
  "audit_logs",
  {
    ...auditEventColumns(),
    // Tamper evidence: per-tenant sequence and SHA-256 hash chain (src/audit/chain.ts),
    // given by the tenant's object as it appends the row.
    seq: integer("seq").notNull(),
    prevHash: text("prev_hash"),
    hash: text("hash"),
  },
  (t) => [
    uniqueIndex("audit_logs_tenant_seq_uq").on(t.tenantId, t.seq),
    index("audit_logs_tenant_action_idx").on(t.tenantId, t.action, t.seq),
    index("audit_logs_tenant_actor_idx").on(t.tenantId, t.actorUserId, t.seq),
    index("audit_logs_tenant_target_idx").on(t.tenantId, t.targetType, t.targetId, t.seq),
    index("audit_logs_tenant_created_idx").on(t.tenantId, t.createdAt),
    // Only rows waiting to be sealed: stays tiny, so finding them never scans the log.
    index("audit_logs_unsealed_idx").on(t.tenantId, t.seq).where(sql`hash IS NULL`),
  ],
);

/**
 * Audit events on their way to their tenant's chain (src/tenant-object/audit-drain.ts): a
 * change and its event commit here in one D1 batch; D1 runs batches one at a time, so
 * `position` (never reused) is commit order. The tenant's object appends them in that
 * order and deletes them once stored.
 */
export const auditOutbox = sqliteTable(
  "audit_outbox",
  {
    position: integer("position").primaryKey({ autoIncrement: true }),
    ...auditEventColumns(),
    id: text("id").notNull().unique(),
  },
  (t) => [index("audit_outbox_tenant_idx").on(t.tenantId, t.position)],
);

/**
 * When each tenant's oldest audit row was written, as its object last reported it
 * (src/tenant-object/audit-drain.ts): the retention cron (src/audit/retention.ts) visits
 * only the tenants with rows older than the window, without calling every object.
 */
export const auditOldest = sqliteTable("audit_oldest", {
  tenantId: text("tenant_id").primaryKey(),
  createdAt: integer("created_at").notNull(),
});

/**
 * The product's idempotency keys for recordAuditEvent (src/rpc/idempotency.ts): per tenant,
 * the key the product chose names the one audit row it recorded and the fingerprint of the
 * call that recorded it. Written in the row's own batch (the primary key makes a second
 * recording under a key fail as a whole); kept 24 hours, pruned by the tenant's next keyed
 * recording.
 */
export const productAuditKeys = sqliteTable(
  "product_audit_keys",
  {
    tenantId: text("tenant_id").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    auditLogId: text("audit_log_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index("product_audit_keys_created_idx").on(t.tenantId, t.createdAt)],
);

// Where verification starts after retention pruned the older rows. `mac` is an HMAC
// (AUDIT_CHECKPOINT_KEY) over the other fields: only the retention job can write a
// checkpoint verification accepts. Rows from before the MAC existed have NULLs and are
// reported as broken (they cannot be authenticated).
export const auditCheckpoints = sqliteTable("audit_checkpoints", {
  tenantId: text("tenant_id").primaryKey(),
  seq: integer("seq").notNull(),
  hash: text("hash").notNull(),
  prunedAt: integer("pruned_at").notNull(),
  /** created_at of the last pruned row: must be older than the retention window at pruned_at. */
  lastCreatedAt: integer("last_created_at"),
  /** AUDIT_RETENTION_DAYS in force when this checkpoint was written. */
  retentionDays: integer("retention_days"),
  mac: text("mac"),
});

/**
 * When the KV cache was last rebuilt after a D1 restore (`npm run cache:rebuild`,
 * scripts/cache-rebuild.mjs, writes the one row with D1's own clock): no session snapshot
 * whose state was read from D1 before then is used. The tenant's edge document carries it
 * (src/edge-document/build.ts); no row: never rebuilt.
 */
export const cacheRebuilds = sqliteTable(
  "cache_rebuilds",
  {
    id: integer("id").primaryKey(),
    rebuiltAt: integer("rebuilt_at").notNull(),
  },
  (t) => [check("cache_rebuilds_one_row", sql`${t.id} = 1`)],
);

// Where a bounded scheduled job stopped (src/db/job-cursor.ts; jobs: retention, TOTP
// re-seal, checkpoint re-sign): each run does a bounded amount of work and the next one
// resumes after `tenant_id`, the key of the last row finished (a user id for the re-seal);
// NULL: a new pass from the first.
export const retentionCursors = sqliteTable("retention_cursors", {
  job: text("job").primaryKey(),
  tenantId: text("tenant_id"),
  updatedAt: integer("updated_at").notNull(),
});

// Fixed-window failure counters for throttling (sign-in per email, OTP per user).
export const attemptCounters = sqliteTable("attempt_counters", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at").notNull(),
});

/**
 * Lets a D1 batch assert a cross-row invariant: insert `(condition)` here and the
 * CHECK aborts the whole batch (and so its change) when the condition is false.
 * The row is deleted again in the same batch; the table stays empty.
 */
export const invariantGuard = sqliteTable(
  "invariant_guard",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    invariant: text("invariant").notNull(),
    ok: integer("ok").notNull(),
  },
  (t) => [check("invariant_guard_ok", sql`${t.ok} = 1`)],
);

export type Tenant = typeof tenants.$inferSelect;
export type Invitation = typeof invitations.$inferSelect;
export type User = typeof users.$inferSelect;
export type UserSession = typeof userSessions.$inferSelect;
export type AuditLog = typeof auditLogs.$inferSelect;
export type AuditOutboxRow = typeof auditOutbox.$inferSelect;
export type IpRule = typeof ipRules.$inferSelect;
export type PasswordResetToken = typeof passwordResetTokens.$inferSelect;
export type StepupChallenge = typeof stepupChallenges.$inferSelect;
export type Passkey = typeof passkeys.$inferSelect;
export type SsoConnection = typeof ssoConnections.$inferSelect;
export type ScimToken = typeof scimTokens.$inferSelect;

