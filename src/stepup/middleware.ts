/**
 * requireStepUp(purpose): the action needs a fresh grant, earned by re-verifying
 * within the purpose's window, bound to this session, this (real) user and this
 * purpose. A grant from another session or for another purpose never counts. Where
 * the purpose depends on the account or the target (first enrolment or replacement,
 * one's own session or someone else's), a resolver decides it per request.
 *
 * Guarded routes also re-read the session from D1, not only KV: a session revoked
 * at another location (KV not yet propagated) cannot perform sensitive actions.
 */
import { and, desc, eq, gt, gte, isNotNull, isNull, ne } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Db } from "../db/client";
import { stepupChallenges } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { type AuthState, loadStateFromDb } from "../sessions/cache";
import { sessionTimeouts } from "../sessions/config";
import { checkSessionState } from "../sessions/middleware";
import { STEP_UP_POLICIES, type StepUpPurpose, allowedWhileImpersonating, stepUpPolicyOf } from "./policy";
import { stepUpChallengeFor } from "./phishing-resistance";
import { productStepUpPurposes } from "./product-purposes";
import { impersonationExpired } from "../impersonation/expiry";
import { failClosed } from "../lib/fail-closed";
import { errorSummary, log } from "../lib/log";
import { STEP_UP_EXTENSION, noted } from "../openapi/notes";
import { SESSION_FAILURES } from "../sessions/check";

/**
 * The purpose a request needs, when it depends on the account or the target: decided
 * on the session state just re-read from D1 (never the cached copy), and it may
 * refuse (404, 403) before anyone is asked to verify.
 */
export type PurposeResolver = (c: Context<AppEnv>, fresh: AuthState) => StepUpPurpose | Promise<StepUpPurpose>;

/** On a requireStepUp middleware: the purpose it asks for, or null when a resolver decides it per request (for walks of the route table). */
export const STEP_UP_PURPOSE = Symbol.for("gatehouse.stepUpPurpose");

export function requireStepUp(purposeOrResolver: StepUpPurpose | PurposeResolver) {
  if (typeof purposeOrResolver === "string" && !STEP_UP_POLICIES[purposeOrResolver]) throw new Error(`Unknown step-up purpose: ${purposeOrResolver}`);

  const middleware = createMiddleware<AppEnv>(async function requireStepUp(c, next) {
    const fresh = await reloadLiveSession(c, c.get("session").id);
    const purpose = typeof purposeOrResolver === "string" ? purposeOrResolver : await purposeOrResolver(c, fresh);
    const claim = await claimStepUpGrant(c, fresh, purpose);

    await next();

    // The action did not happen: give the grant back rather than make the user re-verify.
    if (c.error || c.res.status >= 400) await claim.giveBack();
  });
  const purpose = typeof purposeOrResolver === "string" ? purposeOrResolver : null;
  return noted(Object.assign(middleware, { [STEP_UP_PURPOSE]: purpose }), {
    errors: ["STEP_UP_REQUIRED", "IMPERSONATION_FORBIDDEN", ...SESSION_FAILURES, "AUTH_UNAVAILABLE"],
    extensions: { [STEP_UP_EXTENSION]: [purpose ?? "decided per request"] },
  });
}

/**
 * The session as D1 has it now (never the cached copy): 503 AUTH_UNAVAILABLE when D1
 * fails, 401 when the session is unknown, revoked, expired or signed out.
 */
export async function reloadLiveSession(c: Context<AppEnv>, sessionId: string): Promise<AuthState> {
  const fresh = await loadStateFromDb(c.var.db, sessionId).catch(() => {
    throw new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");
  });
  const failure = fresh ? checkSessionState(fresh, sessionTimeouts(c.env), c.get("now")) : "SESSION_REVOKED";
  if (!fresh || failure) throw new ApiError(401, failure ?? "SESSION_REVOKED", "Your session was revoked or has expired");
  return fresh;
}

export type StepUpClaim = {
  /** Gives a claimed single-use grant back (the guarded action did not happen); a no-op otherwise. */
  giveBack(): Promise<void>;
};


/**
 * The one check of a grant, for the API's guarded routes and the product's (src/rpc):
 * a grant of `fresh`'s session and (real) user for `purpose`, verified and unexpired.
 * A single-use grant is claimed atomically before anything acts on it, so two concurrent
 * requests cannot share it. Without one: 428 STEP_UP_REQUIRED with the purpose, the
 * methods that can earn it and, for a product purpose, its label.
 *
 * Impersonation: while the session impersonates, a purpose that may not be verified
 * then is refused here too (403 IMPERSONATION_FORBIDDEN), not only when it is earned; and
 * a grant counts only for whom it was earned acting as, within the same impersonation
 * (one earned before an impersonation started, or during one that has ended, does not
 * carry across; IMPERSONATION itself excepted: its grant starts and ends one).
 */
export async function claimStepUpGrant(c: Context<AppEnv>, fresh: AuthState, purpose: string): Promise<StepUpClaim> {
  const policy = stepUpPolicyOf(purpose, productStepUpPurposes(c.env));
  if (!policy) throw new Error(`Unknown step-up purpose: ${purpose}`);
  const now = c.get("now");
  const db = c.var.db;
  const impersonation = actingAs(fresh, now);
  if (impersonation && !allowedWhileImpersonating(policy)) {
    throw new ApiError(403, "IMPERSONATION_FORBIDDEN", "This action cannot be confirmed while impersonating");
  }
  // Under the tenant's policy for this (real) user: which methods, and whether only a passkey counts.
  const challenge = async () =>
    new ApiError(428, "STEP_UP_REQUIRED", "Confirm it's you to continue", { details: await stepUpChallengeFor(c, purpose, policy, fresh.user) });

  const grant = await failClosed("step-up grant", () => findGrant(db, { session: fresh.session, purpose, unusedOnly: policy.singleUse, impersonation, now }));
  if (!grant) throw await challenge();
  if (!policy.singleUse) return { giveBack: async () => undefined };
  // Claim the grant before acting, so two concurrent requests cannot share it.
  if (!(await failClosed("step-up grant", () => claimSingleUse(db, grant.id, now)))) throw await challenge();
  return { giveBack: () => giveBackSingleUse(db, grant.id, purpose, now) };
}

type GrantQuery = {
  session: AuthState["session"];
  purpose: string;
  /** A single-use purpose's grant counts only until it is claimed. */
  unusedOnly: boolean;
  /** Whom the session acts as now (actingAs), or null. */
  impersonation: { userId: string; startedAt: number } | null;
  now: number;
};

/** The grant query: the session's newest verified, unexpired grant for the purpose, earned acting as whom it acts as now; null when there is none. */
async function findGrant(db: Db, { session, purpose, unusedOnly, impersonation, now }: GrantQuery): Promise<{ id: string } | null> {
  const [grant] = await db
    .select({ id: stepupChallenges.id })
    .from(stepupChallenges)
    .where(
      and(
        eq(stepupChallenges.sessionId, session.id),
        eq(stepupChallenges.userId, session.userId),
        eq(stepupChallenges.purpose, purpose),
        isNotNull(stepupChallenges.verifiedAt),
        ...(bindsToActingAs(purpose)
          ? [
              impersonation ? eq(stepupChallenges.actingAsUserId, impersonation.userId) : isNull(stepupChallenges.actingAsUserId),
              impersonation ? gte(stepupChallenges.verifiedAt, impersonation.startedAt) : undefined,
            ]
          : []),
        gt(stepupChallenges.expiresAt, now),
        unusedOnly ? isNull(stepupChallenges.usedAt) : undefined,
      ),
    )
    .orderBy(desc(stepupChallenges.expiresAt))
    .limit(1);
  return grant ?? null;
}

/** The single-use claim: marks the grant used at `now` unless another request already has; whether this one won. */
async function claimSingleUse(db: Db, grantId: string, now: number): Promise<boolean> {
  const claimed = await db.update(stepupChallenges).set({ usedAt: now }).where(and(eq(stepupChallenges.id, grantId), isNull(stepupChallenges.usedAt)));
  return claimed.meta.changes === 1;
}

/** Gives back a grant this request claimed at `now`. Best effort: a failure is logged and never changes the action's answer. */
async function giveBackSingleUse(db: Db, grantId: string, purpose: string, now: number): Promise<void> {
  try {
    await db.update(stepupChallenges).set({ usedAt: null }).where(and(eq(stepupChallenges.id, grantId), eq(stepupChallenges.usedAt, now)));
  } catch (err) {
    log.error("step-up grant not given back", { purpose, error: errorSummary(err) });
  }
}

/**
 * The statement that ends a session's grants earned as itself, for the batch that starts an
 * impersonation: they do not carry across it to after it ends. (Grants earned while
 * impersonating are bound to that impersonation by claimStepUpGrant.)
 */
export function expireOwnGrants(db: Db, sessionId: string, now: number) {
  return db
    .update(stepupChallenges)
    .set({ expiresAt: now })
    .where(and(eq(stepupChallenges.sessionId, sessionId), isNull(stepupChallenges.actingAsUserId), ne(stepupChallenges.purpose, "IMPERSONATION"), gt(stepupChallenges.expiresAt, now)));
}

/** IMPERSONATION is about the impersonation itself (one grant starts it and, within its window, ends it): every other grant is bound to whom it was earned acting as. */
function bindsToActingAs(purpose: string): boolean {
  return purpose !== "IMPERSONATION";
}

/** Whom the session acts as while it impersonates (the impersonation as D1 has it, unexpired); null otherwise. */
export function actingAs(fresh: AuthState, now: number): { userId: string; startedAt: number } | null {
  const impersonation = fresh.session.impersonation;
  return impersonation && !impersonationExpired(impersonation, now) ? { userId: impersonation.userId, startedAt: impersonation.startedAt } : null;
}
