/**
 * Tamper evidence for the audit log (issue: SOC 2 evidence).
 *
 * Threat model: someone with write access to D1 (an operator, a leaked API token)
 * edits or deletes audit rows to hide what happened. Each tenant's rows form a chain:
 * `hash = SHA-256(prev_hash ‖ canonical JSON of the row)`, with a dense per-tenant
 * `seq`. Editing a row breaks its hash; deleting one leaves a gap or a broken link.
 * It does not stop someone who rewrites the whole chain from the start; anchoring
 * the head hash elsewhere (an export, a checkpoint) covers that.
 */
import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { failedWith } from "../db/errors";
import { auditCheckpoints, auditLogs } from "../db/schema";
import { sha256Hex } from "../lib/crypto";

export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every depth, so equal rows hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The fields a row's hash covers: everything but the hash itself. */
export type ChainedFields = Omit<typeof auditLogs.$inferSelect, "hash">;

export function rowHash(prevHash: string, row: ChainedFields): Promise<string> {
  const { prevHash: _ignored, ...fields } = row;
  return sha256Hex(prevHash + canonicalJson(fields));
}

export type ChainHead = { seq: number; hash: string };

/** The tenant's newest row, else its retention checkpoint, else the genesis. */
export async function chainHead(db: Db, tenantId: string): Promise<ChainHead> {
  const last = await db
    .select({ seq: auditLogs.seq, hash: auditLogs.hash })
    .from(auditLogs)
    .where(eq(auditLogs.tenantId, tenantId))
    .orderBy(desc(auditLogs.seq))
    .limit(1);
  if (last[0]) return last[0];
  const checkpoint = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  return checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : { seq: 0, hash: GENESIS_HASH };
}

export const isChainConflict = (err: unknown) => failedWith(err, /UNIQUE constraint failed: audit_logs\.tenant_id, audit_logs\.seq/);
