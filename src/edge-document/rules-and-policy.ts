/**
 * The tenant's IP rules and policy as the edge reads them: the `rules` and `policy` parts
 * of the tenant's edge document, for enforcement, the check endpoint, the enrolment gate
 * and sign-in. A tenant without rules has an empty set there, so no request of such a
 * tenant queries D1. Any KV or D1 error while loading denies with 503 AUTH_UNAVAILABLE: an
 * outage must never turn into "no rules, let everyone in". How a change reaches every
 * location, and how stale a set may be: docs/consistency.md.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { CompiledRuleSet } from "../ip-rules/ruleset";
import { errorSummary, log } from "../lib/log";
import type { TenantPolicy } from "./document";
import { readEdgeState } from "./read";
import { rewriteEdgeState } from "./rewrite";
import { type Propagation, propagate } from "../propagation";

export type { TenantPolicy } from "./document";

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
 * could have overtaken), for this isolate at once, and tell the tenant's object, which
 * writes it to KV (rewriteEdgeState). If the object cannot be told, the change stands but
 * other isolates may enforce the old set until the document expires: the outcome says the
 * propagation is delayed, and the caller answers its success with it (src/propagation.ts).
 */
export async function rewriteEdgeAfterRuleOrPolicyChange(c: Context<AppEnv>, tenantId: string): Promise<Propagation> {
  return propagate("tenant edge document", () => rewriteEdgeState(c, tenantId));
}
