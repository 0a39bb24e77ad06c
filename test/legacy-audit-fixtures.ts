import { env } from "cloudflare:workers";
import { GENESIS_HASH, rowHash } from "../src/audit/chain";
import { checkpointKey, signCheckpoint } from "../src/audit/checkpoint";
import { createDb } from "../src/db/client";
import { type AuditLog, auditCheckpoints, auditLogs } from "../src/db/schema";
import type { Bindings } from "../src/env";
import { START_MS } from "./helpers";

/** The hash D1's retention checkpoint names, when the seeded chain starts after pruned rows. */
export const LEGACY_CHECKPOINT_HASH = "c".repeat(64);
const DAY = 86_400_000;

export type LegacyChainOptions = {
  /** Rows of the chain in D1. */
  rows: number;
  /** Rows 1-prunedUpTo were pruned before the move: D1 holds their signed retention checkpoint. */
  prunedUpTo?: number;
  /** The newest row still unsealed, as a seal that had not run yet leaves it. */
  lastUnsealed?: boolean;
  /** A row whose content was edited after it was sealed (its hash no longer matches). */
  editedSeq?: number;
  /** What each row records (default: a refused sign-in). */
  event?: { action: string; outcome: "SUCCESS" | "FAIL"; targetType: string | null; failureReason: string | null };
};

/** A tenant's chain as D1 held it before the chain moved to the tenant's object (rows prunedUpTo+1 onwards). */
export async function seedLegacyChain(tenantId: string, options: LegacyChainOptions): Promise<AuditLog[]> {
  const pruned = options.prunedUpTo ?? 0;
  let prev = GENESIS_HASH;
  if (pruned > 0) {
    const keys = await checkpointKey(env as Bindings);
    if (!keys) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
    const checkpoint = { tenantId, seq: pruned, hash: LEGACY_CHECKPOINT_HASH, prunedAt: START_MS - DAY, lastCreatedAt: START_MS - 500 * DAY, retentionDays: 400 };
    await createDb(env.DB).insert(auditCheckpoints).values({ ...checkpoint, mac: await signCheckpoint(keys, checkpoint) });
    prev = checkpoint.hash;
  }
  const rows: AuditLog[] = [];
  for (let seq = pruned + 1; seq <= pruned + options.rows; seq++) {
    const fields = {
      id: `aud_legacy_${tenantId}_${seq}`, tenantId, actorUserId: null, realUserId: null, isImpersonating: false,
      ...(options.event ?? { action: "LOGIN_FAILED", outcome: "FAIL" as const, targetType: null, failureReason: "INVALID_PASSWORD" }),
      targetId: options.event?.targetType ? `${options.event.targetType}_legacy_${seq}` : null, ip: "203.0.113.7", userAgent: null, country: null, city: null,
      before: null, after: null, metadata: { n: seq, note: "é ✓" }, requestId: null, createdAt: START_MS - 1000 + seq, seq,
    };
    const sealed = !(options.lastUnsealed && seq === pruned + options.rows);
    const hash = sealed ? await rowHash(prev, fields) : null;
    const stored = seq === options.editedSeq ? { ...fields, metadata: { n: seq, note: "edited" } } : fields;
    rows.push({ ...stored, prevHash: sealed ? prev : null, hash });
    if (hash) prev = hash;
  }
  const db = createDb(env.DB);
  for (let i = 0; i < rows.length; i += 4) await db.insert(auditLogs).values(rows.slice(i, i + 4));
  return rows;
}

/** How many rows D1's audit_logs still holds, in every tenant. */
export const legacyRowsInD1 = () => createDb(env.DB).$count(auditLogs);
