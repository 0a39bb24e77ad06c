import type { AuthSession } from "../env";

/**
 * Whether an impersonation has run out at `now` (its expiresAt, IMPERSONATION_MAX_SECONDS
 * after its start, reached): the one answer for the edge check's impersonation step
 * (src/impersonation/middleware.ts), the snapshot check (src/sessions/snapshot-check.ts)
 * and step-up's acting-as (src/stepup/middleware.ts).
 */
export function impersonationExpired(impersonation: Pick<NonNullable<AuthSession["impersonation"]>, "expiresAt">, now: number): boolean {
  return impersonation.expiresAt <= now;
}
