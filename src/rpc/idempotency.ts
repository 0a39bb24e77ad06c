/**
 * Idempotency keys of the product's audit events (recordAuditEvent, src/rpc/record-event.ts).
 *
 * Threat model: a product that retries after an error or a lost answer must not record its
 * event twice, and a key must never make Gatehouse answer for an event it did not record.
 * A key is the product's own (16-128 characters, e.g. a UUID), scoped to the session's
 * tenant: the session names the tenant, so a key can neither reach nor collide with another
 * tenant's. Every Worker bound to the entrypoint shares that scope (Gatehouse cannot tell
 * them apart), which random keys make harmless.
 *
 * The key is written in the recorded row's own batch, under a unique (tenant, key) primary
 * key: of two calls with one key only one batch commits, the other fails as a whole and
 * answers the first's recording. The call's fingerprint (SHA-256 of its canonical JSON,
 * key excluded) is kept with it: the same key with any other input is refused (409).
 * Keys live IDEMPOTENCY_WINDOW_MS; older ones count as absent and are deleted by the
 * tenant's next keyed recording, in its batch.
 */
import { and, eq, gt, lte } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { canonicalJson } from "../audit/chain";
import type { Db } from "../db/client";
import { productAuditKeys } from "../db/schema";
import { ApiError } from "../errors";
import { sha256Hex } from "../lib/crypto";

/** How long a key answers for its recording: a retry within it records nothing new. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export type KeyedCall = { tenantId: string; key: string; fingerprint: string };

/** The key of a call and the fingerprint of everything else in it. */
export async function keyedCall(tenantId: string, input: { idempotencyKey: string }): Promise<KeyedCall> {
  const { idempotencyKey: key, ...rest } = input;
  return { tenantId, key, fingerprint: await sha256Hex(canonicalJson(rest)) };
}

const unavailable = () => new ApiError(503, "AUDIT_UNAVAILABLE", "The audit log cannot be read right now, so nothing was recorded; try again with the same idempotency key");

/**
 * The row recorded under this key within the window, or null when there is none. The same
 * key with another input is 409 IDEMPOTENCY_KEY_REUSED; a key that cannot be read is 503
 * (nothing is recorded without knowing it is not a retry).
 */
export async function earlierRecording(db: Db, call: KeyedCall, now: number): Promise<{ auditLogId: string } | null> {
  const [earlier] = await db
    .select({ fingerprint: productAuditKeys.fingerprint, auditLogId: productAuditKeys.auditLogId })
    .from(productAuditKeys)
    .where(and(eq(productAuditKeys.tenantId, call.tenantId), eq(productAuditKeys.key, call.key), gt(productAuditKeys.createdAt, now - IDEMPOTENCY_WINDOW_MS)))
    .catch(() => {
      throw unavailable();
    });
  if (!earlier) return null;
  if (earlier.fingerprint !== call.fingerprint) {
    throw new ApiError(409, "IDEMPOTENCY_KEY_REUSED", "This idempotency key recorded a different event in the last 24 hours, so nothing was recorded; use a new key for a new event");
  }
  return { auditLogId: earlier.auditLogId };
}

/** The statements that keep the key with the row `auditLogId`, for the row's own batch: the tenant's expired keys go first. */
export function keyStatements(db: Db, call: KeyedCall, auditLogId: string, now: number): BatchItem<"sqlite">[] {
  return [
    db.delete(productAuditKeys).where(and(eq(productAuditKeys.tenantId, call.tenantId), lte(productAuditKeys.createdAt, now - IDEMPOTENCY_WINDOW_MS))),
    db.insert(productAuditKeys).values({ tenantId: call.tenantId, key: call.key, fingerprint: call.fingerprint, auditLogId, createdAt: now }),
  ];
}
