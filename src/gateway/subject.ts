/**
 * The assertion's subject from what the edge check established (the request's Variables
 * after the session check and impersonation), so the claims come from one place.
 */
import type { AuthSession, AuthUser } from "../env";
import { permissionsOf } from "../lib/permissions";
import type { AssertionSubject } from "./assertion";

export type EdgeIdentity = {
  session: AuthSession;
  /** Whom the request acts as (the impersonated user while impersonating). */
  user: AuthUser;
  /** The session's own user. */
  realUser: AuthUser;
  actor: { realUserId: string | null; isImpersonating: boolean };
};

/** `amr` is what the session recorded at sign-in: never a factor the user did not present. */
export function assertionSubjectOf(identity: EdgeIdentity): AssertionSubject {
  const { session, user, realUser, actor } = identity;
  const impersonating = actor.isImpersonating && session.impersonation !== null;
  const ends = [session.expiresAt, ...(impersonating && session.impersonation ? [session.impersonation.expiresAt] : [])];
  return {
    sessionId: session.id,
    sessionVersion: session.sessionVersion,
    tenantId: session.tenantId,
    user: { id: user.id, email: user.email, name: user.displayName, role: user.role, permissions: permissionsOf(user) },
    amr: session.amr,
    actor: impersonating ? { id: realUser.id, email: realUser.email, name: realUser.displayName } : null,
    notAfterMs: Math.min(...ends),
  };
}
