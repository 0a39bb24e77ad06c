/**
 * Tamper evidence for the audit log (SOC 2 evidence).
 *
 * Threat model: someone with write access to the store (an operator, a leaked API token)
 * edits or deletes audit rows to hide what happened. Each tenant's rows form a chain:
 * `hash = SHA-256(prev_hash ‖ canonical JSON of the row)`, with a dense per-tenant
 * `seq`. Editing a row breaks its hash; deleting one leaves a gap or a broken link.
 * It does not stop someone who rewrites the chain from some row onwards; anchoring the
 * head hash elsewhere (an export) covers that.
 *
 * The chain lives in the tenant's Durable Object: it takes the events from D1's outbox in
 * commit order and gives each its seq, prev_hash and hash as it appends it
 * (src/tenant-object/audit-drain.ts), so a row is never stored unlinked.
 */
import type { AuditLog } from "../db/schema";
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

/** The fields a row's hash covers: everything but the link fields. */
export type HashedFields = Omit<AuditLog, "hash" | "prevHash">;

export function rowHash(prevHash: string, row: HashedFields & Partial<Pick<AuditLog, "hash" | "prevHash">>): Promise<string> {
  const { prevHash: _prev, hash: _hash, ...fields } = row;
  return sha256Hex(prevHash + canonicalJson(fields));
}
