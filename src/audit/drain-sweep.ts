/**
 * Which tenants still have audit rows in D1 for their objects to take, and the hourly
 * cron's part in the audit outbox (src/tenant-object/audit-drain.ts): every tenant with
 * events still in D1's outbox (its object was never told, or the telling failed), or with
 * rows in D1's audit_logs its object has not imported yet (written before the chain moved
 * there), has its object drain them, so no event waits longer than an hour even in a
 * tenant that writes and reads nothing more. The operator's migration (./migrate.ts) takes
 * the second kind on demand.
 */
import type { Db } from "../db/client";
import { createDb } from "../db/client";
import { auditLogs, auditOutbox } from "../db/schema";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { tenantObject } from "../tenant-object/stub";

/** Tenants drained per run (one call to each one's object). */
const TENANTS_PER_RUN = 200;

/** Tenants with rows in D1's audit_logs (written before the chain moved to the objects) that their objects have not imported yet. */
export const tenantsWithLegacyRows = (db: Db) => db.selectDistinct({ tenantId: auditLogs.tenantId }).from(auditLogs);

export async function drainPendingOutboxes(env: Bindings, maxTenants = TENANTS_PER_RUN): Promise<{ drained: number; failed: number }> {
  const db = createDb(env.DB);
  const pending = await db
    .selectDistinct({ tenantId: auditOutbox.tenantId })
    .from(auditOutbox)
    .union(tenantsWithLegacyRows(db))
    .limit(maxTenants);
  const result = { drained: 0, failed: 0 };
  for (const { tenantId } of pending) {
    try {
      await tenantObject(env, tenantId).drainAudit(tenantId);
      result.drained++;
    } catch (err) {
      result.failed++;
      log.error("audit outbox drain failed", { tenantId, error: errorSummary(err) });
    }
  }
  return result;
}
