import type { Context } from "hono";
import { readEdgeState } from "../edge-document/read";
import type { AppEnv } from "../env";
import { errorSummary, log } from "../lib/log";

/**
 * `{ tenant: { name } }` for `/api/me`: the panel names the organisation it shows. Read from
 * the tenant's edge document, which the edge check has just read on this request (so no
 * D1 query and no second KV read). A name only, never a decision: when it cannot be read,
 * the answer goes without it (logged).
 */
export async function tenantNameOf(c: Context<AppEnv>): Promise<{ tenant?: { name: string } }> {
  try {
    const { tenantName } = await readEdgeState(c, c.get("user").tenantId);
    return tenantName ? { tenant: { name: tenantName } } : {};
  } catch (err) {
    log.warn("tenant name lookup failed", { error: errorSummary(err) });
    return {};
  }
}
