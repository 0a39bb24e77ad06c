
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// Times are Unix epoch milliseconds. JSON columns hold small objects only.

export const ROLES = ["owner", "admin", "member"] as const;
export type Role = (typeof ROLES)[number];

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  slug: text("slug").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    email: text("email").notNull().unique(),
    displayName: text("display_name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    passwordHash: text("password_hash").notNull(),
    sessionVersion: integer("session_version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    disabledAt: integer("disabled_at"),
  },
  (t) => [index("users_tenant_idx").on(t.tenantId, t.email)],
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
    revokeReason: text("revoke_reason"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index("user_sessions_user_last_seen_idx").on(t.tenantId, t.userId, t.lastSeenAt),
  ],
);

export const auditLogs = sqliteTable(
  "audit_logs",
  {
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
  },
  (t) => [index("audit_logs_tenant_created_idx").on(t.tenantId, t.createdAt, t.id)],
);

// Fixed-window failure counters for throttling (sign-in per email, OTP per user).
export const attemptCounters = sqliteTable("attempt_counters", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at").notNull(),
});

export type Tenant = typeof tenants.$inferSelect;
export type User = typeof users.$inferSelect;
export type UserSession = typeof userSessions.$inferSelect;
export type AuditLog = typeof auditLogs.$inferSelect;

