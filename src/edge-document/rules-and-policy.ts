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
import { TENANT_EDGE_TTL_SECONDS, type TenantPolicy } from "./document";
import { readEdgeState } from "./read";
import { rewriteEdgeState } from "./rewrite";

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
 * could have overtaken; rewriteEdgeState retries a refused write, then deletes the stored
 * document). If KV refuses all of it, the change stands but other isolates may enforce
 * the old set until the document expires: the caller hears so (503, saved: true) rather
 * than a plain success.
 */
export async function rewriteEdgeAfterRuleOrPolicyChange(c: Context<AppEnv>, tenantId: string): Promise<void> {
  try {
    await rewriteEdgeState(c, tenantId);
  } catch (err) {
    log.error("tenant edge document not rewritten after a rule or policy change", { error: errorSummary(err) });
    throw new ApiError(503, "AUTH_UNAVAILABLE", `The change was saved but may take up to ${TENANT_EDGE_TTL_SECONDS / 60} minutes to be enforced; reload the rules to confirm`, {
      details: { saved: true },
    });
  }
}
