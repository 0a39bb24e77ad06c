/**
 * The audit write primitive. A sensitive change and its SUCCESS row go to D1 in one
 * batch (one transaction): either both land or neither does. Refusals are written
 * as FAIL rows on their own, since there is no change to pair them with.
 */
import type { Context } from "hono";
import type { BatchItem } from "drizzle-orm/batch";
import { createDb } from "../db/client";
import { auditLogs } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { randomId } from "../lib/crypto";
import { requestMeta } from "../lib/request-meta";
import type { AuditAction, AuditOutcome } from "./actions";

export type AuditEvent = {
  action: AuditAction;
  outcome: AuditOutcome;
  /** Defaults to the signed-in user's tenant and id; sign-in passes them explicitly. */
  tenantId?: string;
  actorUserId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  failureReason?: string | null;
  before?: unknown;
  after?: unknown;
  metadata?: Record<string, unknown>;
};

export type AuditRow = typeof auditLogs.$inferInsert;

export function buildAuditRow(c: Context<AppEnv>, event: AuditEvent): AuditRow | null {
  const user: AuthUser | undefined = c.get("user");
  const tenantId = event.tenantId ?? user?.tenantId;
  // A row belongs to a tenant's log; a request no tenant can be named for has no log.
  if (!tenantId) return null;
  const meta = requestMeta(c);
  return {
    id: randomId("aud_"),
    tenantId,
    actorUserId: event.actorUserId === undefined ? (user?.id ?? null) : event.actorUserId,
    realUserId: null,
    isImpersonating: false,
    action: event.action,
    outcome: event.outcome,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    ip: meta.ip,
    userAgent: meta.userAgent,
    country: meta.country,
    city: meta.city,
    failureReason: event.failureReason ?? null,
    before: event.before ?? null,
    after: event.after ?? null,
    metadata: event.metadata ?? null,
    requestId: c.get("requestId") ?? null,
    createdAt: c.get("now"),
  };
}

type Batchable = BatchItem<"sqlite">;

/** Runs `changes` and the audit rows of `events` as one D1 batch. */
export async function commitWithAudit(
  c: Context<AppEnv>,
  changes: Batchable[],
  events: AuditEvent | AuditEvent[],
): Promise<void> {
  const db = createDb(c.env.DB);
  const rows = (Array.isArray(events) ? events : [events]).map((e) => buildAuditRow(c, e));
  const inserts: Batchable[] = rows.filter((r): r is AuditRow => r !== null).map((r) => db.insert(auditLogs).values(r));
  const statements = [...changes, ...inserts];
  const [first, ...rest] = statements;
  if (!first) return;
  await db.batch([first, ...rest]);
}

/** Writes a FAIL (or standalone) row. A refusal stays a refusal even if this write fails. */
export async function recordAudit(c: Context<AppEnv>, event: AuditEvent): Promise<void> {
  try {
    await commitWithAudit(c, [], event);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "audit write failed", action: event.action, requestId: c.get("requestId"), error: String(err) }));
  }
}
