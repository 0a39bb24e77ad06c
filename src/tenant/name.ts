import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { tenants } from "../db/schema";
import type { AppEnv } from "../env";
import { errorSummary, log } from "../lib/log";

/**
 * `{ tenant: { name } }` for `/api/me`: the panel names the organisation it shows. A name
 * only, never a decision: when D1 cannot say, the answer goes without it (logged).
 */
export async function tenantNameOf(c: Context<AppEnv>): Promise<{ tenant?: { name: string } }> {
  try {
    const row = await c.var.db.query.tenants.findFirst({ where: eq(tenants.id, c.get("user").tenantId), columns: { name: true } });
    return row ? { tenant: { name: row.name } } : {};
  } catch (err) {
    log.warn("tenant name lookup failed", { error: errorSummary(err) });
    return {};
  }
}
