/**
 * The audit write primitive. A sensitive change and its SUCCESS event go to D1 in one
 * batch (one transaction): either both land or neither does. Refusals are written
 * as FAIL events on their own, since there is no change to pair them with. Events land in
 * D1's outbox; the tenant's Durable Object appends them to its chain in commit order
 * (src/tenant-object/audit-drain.ts), told right after the batch.
 */
import { type SQL, getTableColumns, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditOutbox } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { randomId } from "../lib/crypto";
import { requestMeta } from "../lib/request-meta";
import { wellFormed, wellFormedDeep } from "../lib/text";
import type { AuditAction, AuditOutcome, AuditTargetType, ProductAuditAction, ProductTargetType } from "./actions";
import type { HashedFields } from "./chain";
import { errorSummary, log } from "../lib/log";
import { tenantObject } from "../tenant-object/stub";

export type AuditEvent = {
  /** The row's id, when another statement of the batch must name the row; a new random id otherwise. */
  id?: string;
  /** Gatehouse's own actions, or the product's (`app.…`, recorded through src/rpc). */
  action: AuditAction | ProductAuditAction;
  outcome: AuditOutcome;
  /** Defaults to the signed-in user's tenant and id (or the auditActor's tenant, with no actor); sign-in passes them explicitly. */
  tenantId?: string;
  actorUserId?: string | null;
  targetType?: AuditTargetType | ProductTargetType | null;
  targetId?: string | null;
  failureReason?: string | null;
  before?: unknown;
  after?: unknown;
  metadata?: Record<string, unknown>;
};

export type UnchainedRow = Omit<HashedFields, "seq">;

export function buildAuditRow(c: Context<AppEnv>, event: AuditEvent): UnchainedRow | null {
  const user: AuthUser | undefined = c.get("user");
  // A caller that is not a user (a SCIM token) names its tenant and its own metadata, which an
  // event cannot overwrite (`by`, `scimTokenId`).
  const agent = c.get("auditActor");
  const tenantId = event.tenantId ?? user?.tenantId ?? agent?.tenantId;
  // A row belongs to a tenant's log; a request no tenant can be named for has no log.
  if (!tenantId) return null;
  const meta = requestMeta(c);
  const actor = c.get("actor");
  // Every stored string well-formed (JSON columns included, keys too): what D1 keeps is
  // what was written, so the row reads back as it was meant.
  const text = (value: string | null | undefined) => (value == null ? null : wellFormed(value));
  const json = (value: unknown) => (value == null ? null : wellFormedDeep(value));
  return {
    id: event.id ?? randomId("aud_"),
    tenantId,
    actorUserId: event.actorUserId === undefined ? (user?.id ?? null) : event.actorUserId,
    realUserId: actor?.realUserId ?? null,
    isImpersonating: actor?.isImpersonating ?? false,
    action: event.action,
    outcome: event.outcome,
    targetType: text(event.targetType),
    targetId: text(event.targetId),
    ip: meta.ip,
    userAgent: meta.userAgent,
    country: meta.country,
    city: meta.city,
    failureReason: text(event.failureReason),
    before: json(event.before),
    after: json(event.after),
    metadata: json(agent ? { ...event.metadata, ...agent.metadata } : event.metadata) as Record<string, unknown> | null,
    requestId: c.get("requestId") ?? null,
    createdAt: c.get("now"),
  };
}

/**
 * `row` as the SELECT list of an INSERT … SELECT into the outbox (every column, in the
 * table's order, as drizzle lists them in the INSERT): for an event written only where a
 * condition holds, or once per row of a query, with `computed` columns as SQL over it.
 * Its position is D1's next (commit order); the tenant's object links it
 * (src/tenant-object/audit-drain.ts).
 */
export function auditRowSelectList(row: UnchainedRow, computed: Partial<Record<keyof UnchainedRow, SQL>> = {}): SQL {
  const fields: Record<string, unknown> = row;
  const values = Object.entries(getTableColumns(auditOutbox)).map(([key, column]) =>
    key === "position" ? sql`NULL` : (computed[key as keyof UnchainedRow] ?? sql.param(fields[key] ?? null, column)),
  );
  return sql.join(values, sql`, `);
}

type Batchable = BatchItem<"sqlite">;

/**
 * Tells the tenant's object that events committed, after the response (waitUntil): it
 * appends them to its chain. A tell that is lost loses nothing: the events wait in the
 * outbox for the tenant's next write, its next audit read, or the hourly cron.
 */
export function auditCommitted(c: Context<AppEnv>, tenantIds: Iterable<string>): void {
  for (const tenantId of new Set(tenantIds)) {
    const told = Promise.resolve()
      .then(() => tenantObject(c.env, tenantId).drainAudit(tenantId))
      .catch((err: unknown) => log.warn("audit drain deferred", { tenantId, error: errorSummary(err) }));
    try {
      c.executionCtx.waitUntil(told);
    } catch {
      // No execution context (a direct call): the promise runs on its own.
    }
  }
}

/**
 * Runs `changes` and the events of `events` as one D1 batch (the events into the outbox),
 * then tells the tenant's object. Answers the ids of the events written, in the order of
 * `events`.
 */
export async function commitWithAudit(
  c: Context<AppEnv>,
  changes: Batchable[],
  events: AuditEvent | AuditEvent[],
): Promise<string[]> {
  const db = c.var.db;
  const rows = (Array.isArray(events) ? events : [events])
    .map((e) => buildAuditRow(c, e))
    .filter((r): r is UnchainedRow => r !== null);
  const inserts = rows.map((r) => db.insert(auditOutbox).values(r));
  const [first, ...rest] = [...changes, ...inserts];
  if (!first) return [];
  await db.batch([first, ...rest]);
  auditCommitted(c, rows.map((r) => r.tenantId));
  return rows.map((r) => r.id);
}

/** Writes a FAIL (or standalone) row. A refusal stays a refusal even if this write fails. */
export async function recordAudit(c: Context<AppEnv>, event: AuditEvent): Promise<void> {
  try {
    await commitWithAudit(c, [], event);
  } catch (err) {
    log.error("audit write failed", { action: event.action, error: errorSummary(err) });
  }
}
