/**
 * The operator's migration of D1's audit rows (written before each tenant's chain moved to
 * its Durable Object) into the objects, on demand: `POST /api/operator/audit/migrate`
 * (src/operator/routes.ts), which `npm run audit:migrate` calls until nothing is left.
 *
 * The import itself is the tenant object's drain (src/tenant-object/audit-drain.ts):
 * resumable and idempotent, the same one the hourly cron runs (./drain-sweep.ts, which owns
 * which tenants still have rows). Here, one call to each tenant's object both imports and
 * verifies (auditVerify drains first), so a call stays within the subrequest limit: at most
 * MIGRATE_MAX_TENANTS tenants a call. A tenant whose object cannot be reached ends the call
 * there (its rows stay in D1 for the next call); nothing is lost either way.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditLogs } from "../db/schema";
import type { Bindings } from "../env";
import type { KeySet } from "../lib/key-set";
import { errorSummary, log } from "../lib/log";
import { z } from "../lib/zod";
import type { AnchorListing } from "./anchors";
import { tenantChain } from "./read";
import { tenantsWithLegacyRows } from "./drain-sweep";
import type { VerifiedChain } from "./anchor-check";

/** Tenants a call moves at most: one call to each one's object, well inside a request's subrequest limit. */
export const MIGRATE_MAX_TENANTS = 50;

export const migrateBody = z.strictObject({ limit: z.number().int().min(1).max(MIGRATE_MAX_TENANTS).optional() });

export type MovedTenant = { tenantId: string; verify: Pick<VerifiedChain, "ok" | "checked" | "firstBrokenSeq" | "reason" | "fromSeq" | "headSeq"> };

export type MigrateOutcome = {
  /** Tenants whose rows this call moved, each with its chain verified by its object afterwards. */
  moved: MovedTenant[];
  /** The tenant whose object could not be reached or could not import (the call stopped there), or null. */
  unavailable: string | null;
  /** What D1 still holds after the call. */
  left: { tenants: number; rows: number };
  /** Whether another call has rows to move. */
  more: boolean;
};

/** Moves up to `limit` tenants' legacy rows into their objects and verifies each one's chain there. */
export async function migrateLegacyAudit(env: Bindings, db: Db, options: { limit: number; keys: KeySet; nowMs: number }): Promise<MigrateOutcome> {
  const tenants = await tenantsWithLegacyRows(db).limit(options.limit);
  const moved: MovedTenant[] = [];
  let unavailable: string | null = null;
  for (const { tenantId } of tenants) {
    const verify = await importAndVerify(env, tenantId, options);
    if (verify === null) {
      unavailable = tenantId;
      break;
    }
    moved.push({ tenantId, verify });
  }
  const left = await legacyRowsLeft(db);
  return { moved, unavailable, left, more: left.rows > 0 };
}

/** The import is checked against the chain alone (its result carries no anchor report): the anchors are the verify route's. */
const CHAIN_ONLY: AnchorListing = { configured: false };

/** One call to the tenant's object: it drains (importing D1's rows) and verifies its chain; null when it fails. */
async function importAndVerify(env: Bindings, tenantId: string, options: { keys: KeySet; nowMs: number }): Promise<MovedTenant["verify"] | null> {
  try {
    const { ok, checked, firstBrokenSeq, reason, fromSeq, headSeq } = await tenantChain(env, tenantId).auditVerify(tenantId, options.nowMs, options.keys, CHAIN_ONLY);
    if (!ok) log.warn("migrated audit chain does not verify", { tenantId, firstBrokenSeq, reason });
    return { ok, checked, firstBrokenSeq, reason, fromSeq, headSeq };
  } catch (err) {
    log.error("audit migration failed for a tenant", { tenantId, error: errorSummary(err) });
    return null;
  }
}

async function legacyRowsLeft(db: Db): Promise<{ tenants: number; rows: number }> {
  const [row] = await db.select({ tenants: sql<number>`COUNT(DISTINCT ${auditLogs.tenantId})`, rows: sql<number>`COUNT(*)` }).from(auditLogs);
  return { tenants: row?.tenants ?? 0, rows: row?.rows ?? 0 };
}
