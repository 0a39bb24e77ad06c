/**
 * Retention checkpoints, authenticated. A checkpoint says "rows up to `seq` were pruned
 * and the last of them hashed to `hash`"; verification starts from it. Anyone who can
 * write D1 could otherwise delete recent rows and insert a checkpoint at their last seq,
 * so each checkpoint carries an HMAC-SHA-256 under AUDIT_CHECKPOINT_KEY (a Worker
 * secret, never in D1), and it may only cover rows that were older than the retention
 * window when it was written. Without the key nothing is pruned and nothing verified
 * (fail closed).
 *
 * AUDIT_CHECKPOINT_KEY is a key set (src/lib/key-set.ts): the mac column holds
 * `<keyId>.<mac>`, made with the current key, and verifies with whichever key of the set
 * it names; a bare `<mac>` (written before key ids) names LEGACY_KEY_ID. A checkpoint
 * written under a previous key keeps verifying while that key is in the set, and the
 * scheduled handler re-signs it with the current key (resignCheckpoints) so the previous
 * key can then be dropped.
 */
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { configuredKeySet } from "../config";
import type { Db } from "../db/client";
import { auditCheckpoints } from "../db/schema";
import type { Bindings } from "../env";
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { type ImportedKeySet, LEGACY_KEY_ID, importKeySet } from "../lib/key-set";
import { canonicalJson } from "./chain";

const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

export type CheckpointKeys = ImportedKeySet;

export type CheckpointFields = {
  tenantId: string;
  seq: number;
  hash: string;
  prunedAt: number;
  lastCreatedAt: number;
  retentionDays: number;
};

export type StoredCheckpoint = Omit<CheckpointFields, "lastCreatedAt" | "retentionDays"> & {
  lastCreatedAt: number | null;
  retentionDays: number | null;
  mac: string | null;
};

/** The HMAC keys, or null when AUDIT_CHECKPOINT_KEY is missing or malformed (callers fail closed). */
export async function checkpointKey(env: Pick<Bindings, "AUDIT_CHECKPOINT_KEY">): Promise<CheckpointKeys | null> {
  const set = configuredKeySet(env, "auditCheckpoint");
  if (!set) return null;
  return importKeySet(set, "audit-checkpoint-hmac", (bytes) => crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
}

const signedText = (f: CheckpointFields) =>
  encoder.encode(
    canonicalJson({ v: 1, tenantId: f.tenantId, seq: f.seq, hash: f.hash, prunedAt: f.prunedAt, lastCreatedAt: f.lastCreatedAt, retentionDays: f.retentionDays }),
  );

/** `<keyId>.<mac>` under the current key. */
export async function signCheckpoint(keys: CheckpointKeys, fields: CheckpointFields): Promise<string> {
  const { current } = keys;
  return `${current.id}.${toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", current.key, signedText(fields))))}`;
}

/** Whether the stored MAC is one of `keys` over the checkpoint's fields (and which key made it). */
async function macKeyId(keys: CheckpointKeys, cp: StoredCheckpoint): Promise<string | null> {
  if (cp.mac === null || cp.lastCreatedAt === null || cp.retentionDays === null) return null;
  const parts = cp.mac.split(".");
  const [keyId, macText] = parts.length === 1 ? [LEGACY_KEY_ID, parts[0]] : parts.length === 2 ? parts : [];
  const key = keyId ? keys.find(keyId) : null;
  if (!keyId || !macText || !key) return null;
  let mac: Uint8Array;
  try {
    mac = fromBase64Url(macText);
  } catch {
    return null;
  }
  const fields = { ...cp, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays };
  // crypto.subtle.verify compares in constant time.
  return (await crypto.subtle.verify("HMAC", key, mac, signedText(fields))) ? keyId : null;
}

/** Why verification must not start from this checkpoint, or null if it may. */
export async function checkpointProblem(keys: CheckpointKeys, cp: StoredCheckpoint, nowMs: number): Promise<"CHECKPOINT_UNAUTHENTIC" | "CHECKPOINT_TOO_RECENT" | null> {
  if ((await macKeyId(keys, cp)) === null || cp.lastCreatedAt === null || cp.retentionDays === null) return "CHECKPOINT_UNAUTHENTIC";
  const coversTooRecent = cp.lastCreatedAt >= cp.prunedAt - cp.retentionDays * DAY_MS;
  return coversTooRecent || cp.prunedAt > nowMs || cp.retentionDays < 1 ? "CHECKPOINT_TOO_RECENT" : null;
}

/**
 * Re-signs, with the current key, up to `maxRows` checkpoints whose MAC verifies under a
 * previous key of the set (only the MAC changes, compare-and-set on the old one). One
 * that does not verify is left as it is, for verification to report.
 */
export async function resignCheckpoints(db: Db, keys: CheckpointKeys, maxRows: number): Promise<{ resigned: number; unauthentic: number }> {
  const prefix = `${keys.current.id}.`;
  const rows = await db
    .select()
    .from(auditCheckpoints)
    .where(and(isNotNull(auditCheckpoints.mac), sql`substr(${auditCheckpoints.mac}, 1, ${prefix.length}) <> ${prefix}`))
    .limit(maxRows);
  const result = { resigned: 0, unauthentic: 0 };
  for (const cp of rows) {
    if ((await macKeyId(keys, cp)) === null || cp.lastCreatedAt === null || cp.retentionDays === null || cp.mac === null) {
      result.unauthentic++;
      continue;
    }
    const mac = await signCheckpoint(keys, { ...cp, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays });
    const updated = await db
      .update(auditCheckpoints)
      .set({ mac })
      .where(and(eq(auditCheckpoints.tenantId, cp.tenantId), eq(auditCheckpoints.mac, cp.mac)));
    result.resigned += updated.meta.changes;
  }
  return result;
}
