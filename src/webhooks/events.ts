/**
 * The one table of product webhooks: which audit action (a SUCCESS row of the tenant's
 * chain) becomes which webhook, and its data. docs/webhooks.md lists the same events for
 * receivers. One row is at most one webhook, whose `webhook-id` is the row's id: a row
 * that ends sessions as a side effect of its own change (user.disabled, user.removed,
 * tenant.disabled) says so in its data (`revokedSessionIds`, `endedSessions`) instead of
 * sending a second, separate session.revoked.
 *
 * Every event's data carries `tenantId`, `seq` (its place in the tenant's chain: commit
 * order) and `eventId` (the audit event's id, the `webhook-id`), and `actor`. Nothing
 * secret is in any of them: ids, roles, permissions, display names and emails the product
 * already holds, never an IP address, a reset token's id or a free-text reason.
 */
import type { AuditAction } from "../audit/actions";
import type { AuditLog } from "../db/schema";

export const WEBHOOK_TYPES = [
  "session.created",
  "session.revoked",
  "user.created",
  "user.updated",
  "user.disabled",
  "user.enabled",
  "user.removed",
  "impersonation.started",
  "impersonation.ended",
  "tenant.disabled",
] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

export type WebhookPayload = { type: WebhookType; timestamp: string; data: Record<string, unknown> };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const ids = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** What one row says, or null when this row sends nothing (no session ended, a sign-in that created nobody). */
type Mapping = { type: WebhookType; data: (row: AuditLog) => Json | null };

/** The ended sessions of a row, null when none ended (nothing to tell). */
const revoked = (userId: string | null, sessionIds: string[], reason: string): Json | null =>
  sessionIds.length === 0 ? null : { userId, sessionIds, reason };

const userChange = (fields: "role" | "permissions" | "profile") => (row: AuditLog) => ({
  userId: row.targetId,
  fields,
  before: row.before ?? null,
  after: row.after ?? null,
});

export const WEBHOOK_EVENTS: Partial<Record<AuditAction, Mapping>> = {
  SESSION_CREATED: { type: "session.created", data: (row) => ({ sessionId: row.targetId, userId: row.actorUserId }) },
  // session.revoked: every way a user's sessions end but the three below that carry their own type.
  LOGOUT: { type: "session.revoked", data: (row) => revoked(row.actorUserId, ids([row.targetId]), "LOGOUT") },
  SESSION_REVOKED: {
    type: "session.revoked",
    data: (row) => revoked(str(obj(row.metadata).sessionUserId), ids([row.targetId]), str(obj(row.after).revokeReason) ?? "REVOKED"),
  },
  SESSION_REVOKE_ALL: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "REVOKE_ALL_OTHERS") },
  SESSION_INVALIDATED: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "FORCE_LOGOUT") },
  SSO_LOGOUT: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).endedSessions), "SSO_LOGOUT") },
  PASSWORD_CHANGED: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "PASSWORD_CHANGED") },
  PASSWORD_RESET_REQUESTED: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "PASSWORD_RESET") },
  PASSWORD_RESET: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "PASSWORD_RESET") },
  MFA_RESET: { type: "session.revoked", data: (row) => revoked(row.targetId, ids(obj(row.metadata).revokedSessionIds), "MFA_RESET") },
  // user.created: an invitation accepted, a SCIM provisioning, a single sign-on that provisioned the member.
  INVITATION_ACCEPTED: {
    type: "user.created",
    data: (row) => ({ userId: str(obj(row.after).userId), email: str(obj(row.after).email), role: str(obj(row.after).role), via: "invitation" }),
  },
  SCIM_USER_CREATED: { type: "user.created", data: (row) => ({ userId: row.targetId, email: str(obj(row.after).email), role: str(obj(row.after).role), via: "scim" }) },
  LOGIN_SUCCEEDED: { type: "user.created", data: (row) => (obj(row.metadata).provisioned === true ? { userId: row.targetId, email: null, role: null, via: "sso" } : null) },
  USER_ROLE_UPDATED: { type: "user.updated", data: userChange("role") },
  USER_PERMISSIONS_UPDATED: { type: "user.updated", data: userChange("permissions") },
  PROFILE_UPDATED: { type: "user.updated", data: userChange("profile") },
  SCIM_USER_UPDATED: { type: "user.updated", data: userChange("profile") },
  USER_DISABLED: { type: "user.disabled", data: (row) => ({ userId: row.targetId, revokedSessionIds: ids(obj(row.metadata).revokedSessionIds) }) },
  USER_ENABLED: { type: "user.enabled", data: (row) => ({ userId: row.targetId }) },
  USER_REMOVED: { type: "user.removed", data: (row) => ({ userId: row.targetId, revokedSessionIds: ids(obj(row.metadata).revokedSessionIds) }) },
  IMPERSONATION_STARTED: {
    type: "impersonation.started",
    data: (row) => ({ adminUserId: row.actorUserId, userId: row.targetId, sessionId: str(obj(row.metadata).sessionId), expiresAt: str(obj(row.after).expiresAt) }),
  },
  IMPERSONATION_ENDED: {
    type: "impersonation.ended",
    data: (row) => ({ adminUserId: row.actorUserId, userId: row.targetId, sessionId: str(obj(row.metadata).sessionId), reason: str(obj(row.metadata).reason) }),
  },
  TENANT_DISABLED: { type: "tenant.disabled", data: (row) => ({ endedSessions: typeof obj(row.metadata).endedSessions === "number" ? obj(row.metadata).endedSessions : null }) },
};

/** The actions some webhook comes from (the object's query reads only their rows). */
export const WEBHOOK_ACTIONS = Object.keys(WEBHOOK_EVENTS) as AuditAction[];

/** The webhook a stored row sends, or null (another action, a refusal, or a row that tells nothing). */
export function webhookOf(row: AuditLog): { id: string; seq: number; payload: WebhookPayload } | null {
  if (row.outcome !== "SUCCESS") return null;
  const mapping = WEBHOOK_EVENTS[row.action as AuditAction];
  const data = mapping?.data(row);
  if (!mapping || !data) return null;
  return {
    id: row.id,
    seq: row.seq,
    payload: {
      type: mapping.type,
      timestamp: new Date(row.createdAt).toISOString(),
      data: {
        tenantId: row.tenantId,
        seq: row.seq,
        eventId: row.id,
        actor: { userId: row.actorUserId, realUserId: row.realUserId, impersonating: row.isImpersonating },
        ...data,
      },
    },
  };
}
