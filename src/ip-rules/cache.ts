/**
 * The tenant's IP rules and policy as the edge reads them: the `rules` and `policy` parts
 * of the tenant's edge document (src/tenant/edge-state.ts, KV key `tenant-edge:<tenantId>`,
 * the one per-tenant read of a hot request, shared with the session snapshot check). A
 * tenant without rules has an empty set there, so no request of such a tenant queries D1.
 *
 * Consistency, as for sessions: writers change D1 first, then rewrite the whole document
 * from D1, so a change is enforced on the next request at the same location (within
 * LOCAL_TENANT_EDGE_MS through another isolate) and elsewhere once KV propagates (up to
 * ~60 s). The document's KV TTL (TENANT_EDGE_TTL_SECONDS) bounds how long a lost race (a
 * miss refill racing a change) can keep a stale set. Expiry needs no invalidation: the
 * decision checks expiresAt against the clock.
 *
 * Any KV or D1 error while loading denies with 503 AUTH_UNAVAILABLE: an outage must
 * never turn into "no rules, let everyone in".
 */
import { asc, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { ipRules } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { CompiledRuleSet } from "./ruleset";
import { errorSummary, log } from "../lib/log";
import { type Propagation, propagate } from "../propagation";
import { type TenantPolicy, readEdgeState, rewriteEdgeState } from "../tenant/edge-state";

export type { TenantPolicy } from "../tenant/edge-state";

export async function listTenantRules(db: Db, tenantId: string) {
  return db.select().from(ipRules).where(eq(ipRules.tenantId, tenantId)).orderBy(asc(ipRules.createdAt), asc(ipRules.id));
}

const unavailable = () => new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");

async function loadEdgeState(c: Context<AppEnv>, tenantId: string) {
  try {
    return await readEdgeState(c, tenantId);
  } catch (err) {
    log.error("ip rules unavailable", { error: errorSummary(err) });
    throw unavailable();
  }
}

/** The tenant's rule set for enforcement and the check endpoint (no D1 query on a hot request). */
export async function loadRuleSet(c: Context<AppEnv>, tenantId: string): Promise<CompiledRuleSet> {
  return (await loadEdgeState(c, tenantId)).rules;
}

/** The tenant's policy, from the same document as its rules (no D1 query on a hot request). */
export async function loadTenantPolicy(c: Context<AppEnv>, tenantId: string): Promise<TenantPolicy> {
  return (await loadEdgeState(c, tenantId)).policy;
}

/**
 * After a change (to the rules or the policy) was committed to D1, rewrite the tenant's
 * edge document from D1 (not from the request's in-memory view, which a concurrent change
 * could have overtaken; rewriteEdgeState retries a refused write, then deletes the stored
 * document). If KV refuses all of it, the change stands but other isolates may enforce
 * the old set until the document expires: the outcome says the propagation is delayed,
 * and the caller answers its success with it (src/propagation.ts).
 */
export async function rewriteEdgeAfterRuleOrPolicyChange(c: Context<AppEnv>, tenantId: string): Promise<Propagation> {
  return propagate("tenant edge document", () => rewriteEdgeState(c, tenantId));
}
