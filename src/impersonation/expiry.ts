import type { AuthSession } from "../env";

/**
 * Whether an impersonation has run out at `now` (its expiresAt, IMPERSONATION_MAX_SECONDS
 * after its start, reached): the one answer for the edge check's impersonation step
 * (resolveImpersonation), the session snapshot's fast path (admitFromSnapshot) and
 * step-up's acting-as (actingAs, src/stepup/middleware.ts).
 */
export function impersonationExpired(impersonation: Pick<NonNullable<AuthSession["impersonation"]>, "expiresAt">, now: number): boolean {
  return impersonation.expiresAt <= now;
}
