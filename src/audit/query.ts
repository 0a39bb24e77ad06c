import { type SQL, and, asc, desc, eq, gt, gte, lt, lte, sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { idSchema as id } from "../lib/schemas";
import { type Infer, z } from "../lib/zod";
import type { AuditDb as Db } from "../tenant-object/audit-store";
import { type AuditLog, auditLogs } from "../db/schema";
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { AUDIT_ACTIONS, AUDIT_TARGET_TYPES } from "./actions";
import { productAuditActionSchema } from "./product-events";

export const auditFilterSchema = z.strictObject({
  // Gatehouse's actions, or the product's (`app.…`), validated as they are when recorded.
  action: z.enum(AUDIT_ACTIONS).or(productAuditActionSchema).optional(),
  outcome: z.enum(["SUCCESS", "FAIL"]).optional(),
  actorUserId: id.optional(),
  targetType: z.enum(AUDIT_TARGET_TYPES).optional(),
  targetId: z.string().min(1).max(128).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const auditSearchSchema = auditFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
});

export const auditExportSchema = auditFilterSchema.extend({ format: z.enum(["ndjson", "csv"]).default("ndjson") });

export type AuditFilter = Infer<typeof auditFilterSchema>;

/** Keyset cursors carry the last seq seen: new rows get larger seqs, so pages stay stable. */
export function encodeCursor(seq: number): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify({ seq })));
}

export function decodeCursor(cursor: string): number | null {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)));
    const seq = (parsed as { seq?: unknown }).seq;
    return typeof seq === "number" && Number.isInteger(seq) && seq > 0 ? seq : null;
  } catch {
    return null;
  }
}

export function filterConditions(tenantId: string, f: AuditFilter): SQL[] {
  const conds: (SQL | undefined)[] = [
    eq(auditLogs.tenantId, tenantId),
    f.action ? eq(auditLogs.action, f.action) : undefined,
    f.outcome ? eq(auditLogs.outcome, f.outcome) : undefined,
    f.actorUserId ? eq(auditLogs.actorUserId, f.actorUserId) : undefined,
    f.targetType ? eq(auditLogs.targetType, f.targetType) : undefined,
    f.targetId ? eq(auditLogs.targetId, f.targetId) : undefined,
    f.from ? gte(auditLogs.createdAt, Date.parse(f.from)) : undefined,
    f.to ? lte(auditLogs.createdAt, Date.parse(f.to)) : undefined,
  ];
  return conds.filter((c): c is SQL => c !== undefined);
}

/** Newest first, `limit` rows older than `beforeSeq`. */
export function searchPage(db: Db, tenantId: string, f: AuditFilter, limit: number, beforeSeq: number | null) {
  const conds = filterConditions(tenantId, f);
  if (beforeSeq !== null) conds.push(lt(auditLogs.seq, beforeSeq));
  return db.select().from(auditLogs).where(and(...conds)).orderBy(desc(auditLogs.seq)).limit(limit);
}

/** Oldest first, `limit` rows after `afterSeq` (exports and verification). */
export function ascendingPage(db: Db, tenantId: string, f: AuditFilter, limit: number, afterSeq: number) {
  return db
    .select()
    .from(auditLogs)
    .where(and(...filterConditions(tenantId, f), gt(auditLogs.seq, afterSeq)))
    .orderBy(asc(auditLogs.seq))
    .limit(limit);
}

/** At most this many distinct product actions are listed (the filter's choices). */
export const MAX_PRODUCT_ACTIONS = 200;

/**
 * The product actions (`app.…`) the tenant's log holds, in name order: the audit page's
 * filter choices. One index seek per distinct action on (tenant_id, action, seq), however
 * many rows each has ("app/" is the first string after every "app.…" one).
 */
export async function productActions(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db.all<{ action: string }>(productActionsSql(tenantId));
  return rows.map((r) => r.action);
}

/** productActions' statement, as the object runs it (test/query-plans.test.ts explains it). */
export function productActionsQuery(tenantId: string): { sql: string; params: unknown[] } {
  return new SQLiteSyncDialect().sqlToQuery(productActionsSql(tenantId));
}

function productActionsSql(tenantId: string) {
  return sql`WITH RECURSIVE found(action) AS (
      SELECT (SELECT MIN(action) FROM ${auditLogs} WHERE tenant_id = ${tenantId} AND action > 'app.' AND action < 'app/')
      UNION ALL
      SELECT (SELECT MIN(action) FROM ${auditLogs} WHERE tenant_id = ${tenantId} AND action > found.action AND action < 'app/')
      FROM found WHERE found.action IS NOT NULL
    )
    SELECT action FROM found WHERE action IS NOT NULL LIMIT ${MAX_PRODUCT_ACTIONS}`;
}

/** The audit API's camelCase payload; the chain fields let anyone re-verify an export. */
export function toAuditView(r: AuditLog) {
  return {
    id: r.id,
    seq: r.seq,
    tenantId: r.tenantId,
    actorUserId: r.actorUserId,
    realUserId: r.realUserId,
    isImpersonating: r.isImpersonating,
    action: r.action,
    outcome: r.outcome,
    targetType: r.targetType,
    targetId: r.targetId,
    ip: r.ip,
    userAgent: r.userAgent,
    country: r.country,
    city: r.city,
    failureReason: r.failureReason,
    before: r.before,
    after: r.after,
    metadata: r.metadata,
    requestId: r.requestId,
    createdAt: new Date(r.createdAt).toISOString(),
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

export type AuditView = ReturnType<typeof toAuditView>;
