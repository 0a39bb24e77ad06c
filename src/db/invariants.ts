/**
 * Cross-row invariants inside a D1 batch. A batch is one transaction, and D1 runs
 * batches one at a time, so a condition checked inside the batch, after its changes,
 * cannot be raced: inserting `(condition)` into invariant_guard trips its CHECK and
 * aborts the whole batch (the change with it) when the condition is false. The row
 * is deleted again in the same batch; the table stays empty.
 */
import { type SQL, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { failedWith } from "./errors";
import { invariantGuard, tenants } from "./schema";

export function assertInBatch(db: Db, tenantId: string, invariant: string, holds: SQL) {
  return [
    db.insert(invariantGuard).select(
      db
        .select({
          id: sql<number>`NULL`.as("id"),
          invariant: sql<string>`${invariant}`.as("invariant"),
          ok: sql<number>`(${holds})`.as("ok"),
        })
        .from(tenants)
        .where(eq(tenants.id, tenantId)),
    ),
    db.delete(invariantGuard).where(eq(invariantGuard.invariant, invariant)),
  ] as const;
}

export const isInvariantViolation = (err: unknown) => failedWith(err, /CHECK constraint failed: invariant_guard_ok/);
