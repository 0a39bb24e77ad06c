/**
 * The edge check: what every authenticated request passes, as one unit that any entry
 * point (the API, the RPC entrypoint, the gateway in front of a product) runs the same
 * way. Three small steps, in this order:
 *
 *   1. admitSessionCookie   the cookie names a live session (a fresh session snapshot the
 *                           tenant's edge document leaves standing, else KV, D1 on a
 *                           miss; fail closed with 503); sets the session's own user.
 *   2. resolveImpersonation whom the request acts as while an admin impersonates.
 *   3. enforceIpRules       the tenant's IP rules for the client address, from the same
 *                           edge document (KV `tenant-edge:<tenantId>`, src/edge-document/).
 *
 * runEdgeCheck runs them and returns the decision as a value (admitted, or refused with
 * the error a step raised); each entry point decides what a refusal means for it (the
 * gateway: anonymous on a public path). Once an admitted request has been answered,
 * afterAcceptedRequest (src/sessions/activity.ts) counts it as the session's activity,
 * unless something further on refused it.
 *
 * A hot request makes no D1 query and at most one KV read per tenant per isolate-second
 * with a snapshot (tested; what each step reads and how stale it may be: docs/consistency.md).
 */
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./env";
import type { ErrorCode } from "./error-catalogue";
import { SESSION_FAILURES } from "./sessions/check";
import { type ImpersonationOptions, resolveImpersonation } from "./impersonation/middleware";
import { enforceIpRules } from "./ip-rules";
import { type SessionCheckOptions, afterAcceptedRequest } from "./sessions/activity";
import { type SessionAdmission, admitSessionCookie } from "./sessions/middleware";

export type EdgeCheckOptions = ImpersonationOptions & SessionCheckOptions;

/**
 * What the edge check decided. Admitted: the context names the session, its user and
 * whom the request acts as. Refused: the error of the step that stopped it (401 with the
 * session's reason, 403 IP_BLOCKED, 409 IMPERSONATION_ENDED, 503 when a state cannot be read).
 */
export type EdgeCheckOutcome = { kind: "admitted"; admission: SessionAdmission } | { kind: "refused"; error: unknown };

/** Runs a step that does all its work before next() (resolveImpersonation and enforceIpRules do), as a function. */
const runStep = (c: Context<AppEnv>, step: MiddlewareHandler<AppEnv>) => step(c, async () => {});

/** The three steps, in order, as a function of the request that never throws: its refusal is a value. */
export function runEdgeCheck(options: ImpersonationOptions = {}) {
  const afterAdmission = [resolveImpersonation(options), enforceIpRules()];
  return async function runEdgeCheck(c: Context<AppEnv>): Promise<EdgeCheckOutcome> {
    try {
      const admission = await admitSessionCookie(c);
      for (const step of afterAdmission) await runStep(c, step);
      return { kind: "admitted", admission };
    } catch (error) {
      return { kind: "refused", error };
    }
  };
}

/** What the edge check refuses with (the outcome's errors above), for the API document. */
export const EDGE_CHECK_REFUSALS = [...SESSION_FAILURES, "IP_BLOCKED", "IMPERSONATION_ENDED", "AUTH_UNAVAILABLE"] as const satisfies readonly ErrorCode[];

/** The edge check as the API and the RPC entrypoint mount it: a refusal is their answer. */
export const edgeCheck = (options: EdgeCheckOptions = {}) => {
  const check = runEdgeCheck(options);
  return createMiddleware<AppEnv>(async function edgeCheck(c, next) {
    const outcome = await check(c);
    if (outcome.kind === "refused") throw outcome.error;
    await next();
    await afterAcceptedRequest(c, outcome.admission, options);
  });
};
