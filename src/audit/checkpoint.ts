/**
 * Retention checkpoints, authenticated. A checkpoint says "rows up to `seq` were pruned
 * and the last of them hashed to `hash`"; verification starts from it. Anyone who can
 * write D1 could otherwise delete recent rows and insert a checkpoint at their last seq,
 * so each checkpoint carries an HMAC-SHA-256 under AUDIT_CHECKPOINT_KEY (a Worker
 * secret, never in D1), and it may only cover rows that were older than the retention
 * window when it was written. Without the key nothing is pruned and nothing verified
 * (fail closed).
 */
import type { Bindings } from "../env";
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { canonicalJson } from "./chain";

const DAY_MS = 86_400_000;
const MIN_KEY_BYTES = 32;
const encoder = new TextEncoder();

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

/** The HMAC key, or null when AUDIT_CHECKPOINT_KEY is missing or too short (callers fail closed). */
export async function checkpointKey(env: Bindings): Promise<CryptoKey | null> {
  const raw = env.AUDIT_CHECKPOINT_KEY;
  if (!raw) return null;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(raw);
  } catch {
    return null;
  }
  if (bytes.byteLength < MIN_KEY_BYTES) return null;
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

const signedText = (f: CheckpointFields) =>
  encoder.encode(
    canonicalJson({ v: 1, tenantId: f.tenantId, seq: f.seq, hash: f.hash, prunedAt: f.prunedAt, lastCreatedAt: f.lastCreatedAt, retentionDays: f.retentionDays }),
  );

export async function signCheckpoint(key: CryptoKey, fields: CheckpointFields): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, signedText(fields))));
}

/** Why verification must not start from this checkpoint, or null if it may. */
export async function checkpointProblem(key: CryptoKey, cp: StoredCheckpoint, nowMs: number): Promise<"CHECKPOINT_UNAUTHENTIC" | "CHECKPOINT_TOO_RECENT" | null> {
  if (cp.mac === null || cp.lastCreatedAt === null || cp.retentionDays === null) return "CHECKPOINT_UNAUTHENTIC";
  const fields = { ...cp, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays };
  let mac: Uint8Array;
  try {
    mac = fromBase64Url(cp.mac);
  } catch {
    return "CHECKPOINT_UNAUTHENTIC";
  }
  // crypto.subtle.verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", key, mac, signedText(fields)))) return "CHECKPOINT_UNAUTHENTIC";
  const coversTooRecent = cp.lastCreatedAt >= cp.prunedAt - cp.retentionDays * DAY_MS;
  return coversTooRecent || cp.prunedAt > nowMs || cp.retentionDays < 1 ? "CHECKPOINT_TOO_RECENT" : null;
}
