// What the sessions API returns, as a type with no imports: the panel shares it.

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
  revokeReason: string | null;
  active: boolean;
  current: boolean;
};
