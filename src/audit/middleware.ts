import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import type { ApiError } from "../errors";
import { countRouteOutcome } from "../lib/metrics";
import type { AuditAction, AuditTargetType } from "./actions";
import { recordRepeatedRefusal } from "./dedupe";
import { markRefusalRecorded, refusalOf } from "./refusal";
import { type AuditEvent, recordAudit } from "./service";

export type AuditedOptions = {
  targetType?: AuditTargetType;
  /** Route parameter holding the target's id, for FAIL rows. */
  targetParam?: string;
  /**
   * Write FAIL rows beside the response (waitUntil) rather than before it, so that the
   * client does not wait for its row. The write starts before the answer leaves, so this
   * does not hide whether a row was written: sign-in hides that by doing the same work
   * for an unknown email (src/auth/sign-in-refusal.ts).
   */
  afterResponse?: boolean;
};

/** Marks a middleware as the audit wrapper, so the coverage test can find it in the route table. */
export const AUDITED = Symbol.for("gatehouse.audited");

/**
 * Declares a route as sensitive. The handler writes its SUCCESS row with
 * commitWithAudit; this wrapper guarantees a FAIL row for every refusal the route
 * raises (validation, permission, not found, ...), under the route's action. A 428
 * step-up challenge is a question, not a failure, and is not written (refusalOf).
 * Refusals outside any audited() route go to the app-level recorder.
 */
export function audited(action: AuditAction, options: AuditedOptions = {}) {
  const middleware = createMiddleware<AppEnv>(async function auditedRoute(c, next) {
    await next();
    // Sign-in and step-up outcomes are counted for dashboards (src/lib/metrics.ts).
    countRouteOutcome(c, action);
    const error = refusalOf(c.error);
    // Without a tenant (sign-in for an unknown email) there is no log to write to here;
    // the app-level recorder may still find one from the session cookie.
    if (error && (error.audit.tenantId || c.get("user") || c.get("auditActor"))) {
      markRefusalRecorded(c);
      const write = recordRefusal(c, action, error, options);
      if (options.afterResponse) c.executionCtx.waitUntil(write);
      else await write;
    }
  });
  return Object.assign(middleware, { [AUDITED]: action });
}

async function recordRefusal(c: Context<AppEnv>, action: AuditAction, error: ApiError, options: AuditedOptions): Promise<void> {
  const hint = error.audit;
  const event: AuditEvent = {
    action,
    outcome: "FAIL",
    ...(hint.tenantId ? { tenantId: hint.tenantId } : {}),
    ...(hint.actorUserId !== undefined ? { actorUserId: hint.actorUserId } : {}),
    targetType: hint.targetType ?? options.targetType ?? null,
    targetId: hint.targetId ?? targetFromParam(c, options.targetParam),
    failureReason: hint.failureReason ?? error.code,
    ...(hint.metadata ? { metadata: hint.metadata } : {}),
  };
  const tenantId = hint.tenantId ?? c.get("user")?.tenantId ?? c.get("auditActor")?.tenantId;
  if (hint.dedupeSubject !== undefined && tenantId) await recordRepeatedRefusal(c, { ...event, action, tenantId }, [hint.dedupeSubject]);
  else await recordAudit(c, event);
}

function targetFromParam(c: Context<AppEnv>, param: string | undefined): string | null {
  if (!param) return null;
  return c.req.param(param) ?? null;
}
