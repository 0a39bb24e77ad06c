/**
 * Retention checkpoints, authenticated. A checkpoint says "rows up to `seq` were pruned
 * and the last of them hashed to `hash`"; verification starts from it. Anyone who can
 * write the store could otherwise delete recent rows and insert a checkpoint at their last seq,
 * so each checkpoint carries an HMAC-SHA-256 under AUDIT_CHECKPOINT_KEY (a Worker
 * secret, never stored), and it may only cover rows that were older than the retention
 * window when it was written. Without the key nothing is pruned and nothing verified
 * (fail closed).
 *
 * AUDIT_CHECKPOINT_KEY is a key set (src/lib/key-set.ts): the mac column holds
 * `<keyId>.<mac>`, made with the current key, and verifies with whichever key of the set
 * it names; a bare `<mac>` (written before key ids) names LEGACY_KEY_ID. A checkpoint
 * written under a previous key keeps verifying while that key is in the set, and the
 * scheduled handler has each tenant's object re-sign it with the current key (resignCheckpoints) so the previous
 * key can then be dropped.
 */
import { and, eq } from "drizzle-orm";
import { configuredKeySet } from "../config";
import type { Db } from "../db/client";
import { resumableWalk, tenantIdPage } from "../db/job-cursor";
import { auditCheckpoints } from "../db/schema";
import type { AuditDb } from "../tenant-object/audit-store";
import { tenantObject } from "../tenant-object/stub";
import type { Bindings } from "../env";
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { type ImportedKeySet, type KeySet, importKeySet, splitKeyId } from "../lib/key-set";
import { canonicalJson } from "./chain";

const DAY_MS = 86_400_000;
const RESIGN_PAGE_ROWS = 100;
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

/**
 * AUDIT_CHECKPOINT_KEY as the Worker's configuration gives it, or null when it is missing
 * or malformed (callers fail closed). The tenant's object is handed this set with each call
 * that needs it (its copy of the secret is the same in a deployment; this keeps one
 * configuration the owner of which key is in force).
 */
export function checkpointKeySet(env: Pick<Bindings, "AUDIT_CHECKPOINT_KEY">): KeySet | null {
  return configuredKeySet(env, "auditCheckpoint");
}

/** The set's HMAC keys. */
export function importCheckpointKeys(set: KeySet): Promise<CheckpointKeys> {
  return importKeySet(set, "audit-checkpoint-hmac", (bytes) => crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
}

/** The HMAC keys, or null when AUDIT_CHECKPOINT_KEY is missing or malformed (callers fail closed). */
export async function checkpointKey(env: Pick<Bindings, "AUDIT_CHECKPOINT_KEY">): Promise<CheckpointKeys | null> {
  const set = checkpointKeySet(env);
  return set ? importCheckpointKeys(set) : null;
}

const signedText = (f: CheckpointFields) =>
  encoder.encode(
    canonicalJson({ v: 1, tenantId: f.tenantId, seq: f.seq, hash: f.hash, prunedAt: f.prunedAt, lastCreatedAt: f.lastCreatedAt, retentionDays: f.retentionDays }),
  );

/** `<keyId>.<mac>` over `text` under the current key (checkpoints here, anchors in ./anchors.ts). */
export async function macWithCurrentKey(keys: CheckpointKeys, text: Uint8Array): Promise<string> {
  const { current } = keys;
  return `${current.id}.${toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", current.key, text)))}`;
}

/** The id of the key of `keys` whose HMAC over `text` the `<keyId>.<mac>` is, or null when it is none of theirs. */
export async function macKeyIdOver(keys: CheckpointKeys, mac: string, text: Uint8Array): Promise<string | null> {
  const split = splitKeyId(mac, 1);
  const key = split ? keys.find(split.keyId) : null;
  const macText = split?.fields[0];
  if (!split || !macText || !key) return null;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(macText);
  } catch {
    return null;
  }
  // crypto.subtle.verify compares in constant time.
  return (await crypto.subtle.verify("HMAC", key, bytes, text)) ? split.keyId : null;
}

/** `<keyId>.<mac>` under the current key. */
export function signCheckpoint(keys: CheckpointKeys, fields: CheckpointFields): Promise<string> {
  return macWithCurrentKey(keys, signedText(fields));
}

/** Whether the stored MAC is one of `keys` over the checkpoint's fields (and which key made it). */
function macKeyId(keys: CheckpointKeys, cp: StoredCheckpoint): Promise<string | null> {
  if (cp.mac === null || cp.lastCreatedAt === null || cp.retentionDays === null) return Promise.resolve(null);
  return macKeyIdOver(keys, cp.mac, signedText({ ...cp, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays }));
}

/** Why verification must not start from this checkpoint, or null if it may. */
export async function checkpointProblem(keys: CheckpointKeys, cp: StoredCheckpoint, nowMs: number): Promise<"CHECKPOINT_UNAUTHENTIC" | "CHECKPOINT_TOO_RECENT" | null> {
  if ((await macKeyId(keys, cp)) === null || cp.lastCreatedAt === null || cp.retentionDays === null) return "CHECKPOINT_UNAUTHENTIC";
  const coversTooRecent = cp.lastCreatedAt >= cp.prunedAt - cp.retentionDays * DAY_MS;
  return coversTooRecent || cp.prunedAt > nowMs || cp.retentionDays < 1 ? "CHECKPOINT_TOO_RECENT" : null;
}

/**
 * Re-signs the tenant's checkpoint (in its object's store) with the current key when its
 * MAC verifies under a previous key of the set: only the MAC changes. One that does not
 * verify is left as it is, for verification to report.
 */
export async function resignCheckpoint(db: AuditDb, keys: CheckpointKeys, tenantId: string): Promise<"resigned" | "current" | "unauthentic" | "none"> {
  const cp = await db.query.auditCheckpoints.findFirst({ where: eq(auditCheckpoints.tenantId, tenantId) });
  if (!cp) return "none";
  // The SQL-free form of splitKeyId's rule (src/lib/key-set.ts): a MAC made with the current key starts `<current id>.`.
  if (cp.mac?.startsWith(`${keys.current.id}.`)) return "current";
  if ((await macKeyId(keys, cp)) === null || cp.lastCreatedAt === null || cp.retentionDays === null || cp.mac === null) return "unauthentic";
  const mac = await signCheckpoint(keys, { ...cp, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays });
  db.update(auditCheckpoints).set({ mac }).where(and(eq(auditCheckpoints.tenantId, tenantId), eq(auditCheckpoints.mac, cp.mac))).run();
  return "resigned";
}

/**
 * Asks up to `maxRows` tenants' objects to re-sign their checkpoint (resignCheckpoint),
 * resuming after the tenant the last run stopped at (the "checkpoint-resign" cursor,
 * src/db/job-cursor.ts). A tenant whose object fails is counted and never keeps the next
 * run from the rest.
 */
export async function resignCheckpoints(env: Pick<Bindings, "TENANT">, db: Db, keys: KeySet, maxRows: number, nowMs: number): Promise<{ resigned: number; unauthentic: number }> {
  const result = { resigned: 0, unauthentic: 0 };
  await resumableWalk(db, "checkpoint-resign", nowMs, { maxRows, pageRows: RESIGN_PAGE_ROWS }, async (after, upTo, limit) => {
    const ids = await tenantIdPage(db, after, upTo, limit);
    for (const id of ids) {
      const outcome = await tenantObject(env, id)
        .resignAuditCheckpoint(id, keys)
        .catch(() => "unauthentic" as const);
      if (outcome === "resigned") result.resigned++;
      if (outcome === "unauthentic") result.unauthentic++;
    }
    return ids;
  });
  return result;
}
