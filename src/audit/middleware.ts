import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { type AuditHint, toApiError } from "../errors";
import type { AuditAction } from "./actions";
import { countOccurrence, isCountMilestone } from "./dedupe";
import { recordAudit } from "./service";

export type AuditedOptions = {
  targetType?: string;
  /** Route parameter holding the target's id, for FAIL rows. */
  targetParam?: string;
  /**
   * Write FAIL rows after the response (waitUntil) rather than before it, so that a
   * refusal costs the client the same time whether or not it produces a row (sign-in:
   * a known email writes one, an unknown email has no tenant log to write to).
   */
  afterResponse?: boolean;
};

/**
 * Declares a route as sensitive. The handler writes its SUCCESS row with
 * commitWithAudit; this wrapper guarantees a FAIL row for every refusal the route
 * raises (validation, permission, not found, ...). A 428 step-up challenge is a
 * question, not a failure, and is not written.
 */
/** Marks a middleware as the audit wrapper, so the coverage test can find it in the route table. */
export const AUDITED = Symbol.for("gatehouse.audited");

export function audited(action: AuditAction, options: AuditedOptions = {}) {
  const middleware = createMiddleware<AppEnv>(async function auditedRoute(c, next) {
    await next();
    const error = toApiError(c.error);
    if (error && error.status !== 428 && error.status < 500) {
      const write = recordRefusal(c, action, error.code, error.audit, options);
      if (options.afterResponse) c.executionCtx.waitUntil(write);
      else await write;
    }
  });
  return Object.assign(middleware, { [AUDITED]: action });
}

async function recordRefusal(c: Context<AppEnv>, action: AuditAction, code: string, hint: AuditHint, options: AuditedOptions): Promise<void> {
  const tenantId = hint.tenantId ?? c.get("user")?.tenantId;
  let metadata = hint.metadata;
  if (hint.dedupeSubject !== undefined && tenantId) {
    const count = await countOccurrence(c, { kind: `refused:${action}`, tenantId, subject: hint.dedupeSubject });
    if (count !== null && !isCountMilestone(count)) return;
    if (count !== null) metadata = { ...metadata, count };
  }
  await recordAudit(c, {
    action,
    outcome: "FAIL",
    ...(hint.tenantId ? { tenantId: hint.tenantId } : {}),
    ...(hint.actorUserId !== undefined ? { actorUserId: hint.actorUserId } : {}),
    targetType: hint.targetType ?? options.targetType ?? null,
    targetId: hint.targetId ?? targetFromParam(c, options.targetParam),
    failureReason: hint.failureReason ?? code,
    ...(metadata ? { metadata } : {}),
  });
}

function targetFromParam(c: Context<AppEnv>, param: string | undefined): string | null {
  if (!param) return null;
  return c.req.param(param) ?? null;
}
