// What the sessions API returns, as a type with no imports: the panel shares it.

/** Why a session ended (user_sessions.revoke_reason). */
export const REVOKE_REASONS = [
  "LOGOUT",
  "REVOKED",
  "REVOKED_BY_ADMIN",
  "REVOKE_ALL_OTHERS",
  "FORCE_LOGOUT",
  "TENANT_DISABLED",
  "USER_DISABLED",
  "USER_REMOVED",
  "MFA_RESET",
  "PASSWORD_CHANGED",
  "PASSWORD_RESET",
  // The tenant's identity provider ended the session (OIDC back-channel logout, src/sso).
  "SSO_LOGOUT",
] as const;
export type RevokeReason = (typeof REVOKE_REASONS)[number];

/** A session as `GET /api/security/sessions` shows it. Times are ISO 8601. */
export type SessionView = {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  country: string | null;
  city: string | null;
  userAgent: string | null;
  device: string;
  revokedAt: string | null;
  revokeReason: RevokeReason | null;
  /** Whether the edge check would admit a request of this session now (src/sessions/check.ts). */
  active: boolean;
  current: boolean;
};
