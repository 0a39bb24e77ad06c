import type { AuthSession, AuthUser } from "../env";

/** What a client is told about an impersonation in progress (GET /api/me, RPC authenticate); null when there is none. */
export function impersonationView(session: AuthSession, realUser: AuthUser) {
  const { impersonation } = session;
  if (!impersonation) return null;
  return {
    realUser: { id: realUser.id, email: realUser.email, displayName: realUser.displayName },
    reason: impersonation.reason,
    startedAt: new Date(impersonation.startedAt).toISOString(),
    expiresAt: new Date(impersonation.expiresAt).toISOString(),
  };
}
