/**
 * The audit write primitive. A sensitive change and its SUCCESS row go to D1 in one
 * batch (one transaction): either both land or neither does. Refusals are written
 * as FAIL rows on their own, since there is no change to pair them with.
 */
import { type SQL, getTableColumns, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { auditLogs } from "../db/schema";
import type { AppEnv, AuthUser } from "../env";
import { randomId } from "../lib/crypto";
import { requestMeta } from "../lib/request-meta";
import { wellFormed, wellFormedDeep } from "../lib/text";
import type { AuditAction, AuditOutcome, AuditTargetType, ProductAuditAction, ProductTargetType } from "./actions";
import { type HashedFields, nextSeq, sealAfterWrite } from "./chain";
import { errorSummary, log } from "../lib/log";

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

type UnchainedRow = Omit<HashedFields, "seq">;

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
 * `row` as the SELECT list of an INSERT … SELECT into audit_logs (every column, in the
 * table's order, as drizzle lists them in the INSERT): for a row written only where a
 * condition holds, or once per row of a query, with `computed` columns as SQL over it.
 * Its seq is the tenant's next, computed in the batch; it is left unsealed for the
 * tenant's next sealing write, verification or export to link (src/audit/chain.ts).
 */
export function auditRowSelectList(row: UnchainedRow, computed: Partial<Record<keyof HashedFields, SQL>> = {}): SQL {
  const fields: Record<string, unknown> = { ...row, prevHash: null, hash: null };
  const values = Object.entries(getTableColumns(auditLogs)).map(([key, column]) => computed[key as keyof HashedFields] ?? (key === "seq" ? nextSeq(row.tenantId) : sql.param(fields[key] ?? null, column)));
  return sql.join(values, sql`, `);
}

type Batchable = BatchItem<"sqlite">;

/**
 * Runs `changes` and the audit rows of `events` as one D1 batch, then seals the rows.
 * Each row's seq is computed inside the batch (src/audit/chain.ts), so concurrent
 * writers never race for it: no retry, no lost row. A failed seal loses nothing either:
 * the rows are committed and the next writer, verification or retention links them.
 * Answers the ids of the rows written, in the order of `events`.
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
  const inserts = rows.map((r) => db.insert(auditLogs).values({ ...r, seq: nextSeq(r.tenantId), prevHash: null, hash: null }));
  const [first, ...rest] = [...changes, ...inserts];
  if (!first) return [];
  await db.batch([first, ...rest]);
  for (const tenantId of new Set(rows.map((r) => r.tenantId))) {
    try {
      await sealAfterWrite(db, tenantId, c.get("now"));
    } catch (err) {
      log.error("audit seal deferred", { tenantId, error: errorSummary(err) });
    }
  }
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
