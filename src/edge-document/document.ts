/**
 * The tenant's edge document (KV key `tenant-edge:<tenantId>`): everything the edge check
 * needs per tenant (its name, its IP rules, its policy, which session snapshots a recent
 * change made stale), so a hot request costs at most one KV read per tenant per isolate-second and no
 * D1 query. This module owns its shape, its bounds and the check a stored copy must pass
 * (anything else is rebuilt from D1, never trusted). What each part means, who writes it
 * and how stale it may be: docs/consistency.md.
 */
import { PHISHING_RESISTANT_SCOPES, type PhishingResistantScope } from "../tenant/policy-vocabulary";
import { type CompiledRuleSet, isCompiledRuleSet } from "../ip-rules/ruleset";
import { SNAPSHOT_MAX_AGE_MS } from "../sessions/snapshot";

export const TENANT_EDGE_FORMAT = 4;
/** How long a state entry is kept: the longest a snapshot is trusted, plus a minute for clock skew. */
export const TENANT_EDGE_WINDOW_MS = SNAPSHOT_MAX_AGE_MS + 60_000;
export const TENANT_EDGE_MAX_ENTRIES = 5_000;
export const TENANT_EDGE_MAX_BYTES = 512 * 1024;
/** The longest a document outlives a lost race; the price is one D1 batch per tenant every 5 minutes (KV refuses TTLs under 60 s). */
export const TENANT_EDGE_TTL_SECONDS = 300;
/** The fingerprint of a revoked session: matches no snapshot. */
export const REVOKED_FINGERPRINT = "revoked";

/**
 * The tenant's policy as the edge enforces it, owner-set: the tenants row's, and whether
 * its single sign-on connection requires sign-in through the provider (src/sso/require-sso.ts).
 */
export type TenantPolicy = { requireTwoFactor: boolean; requirePhishingResistant: PhishingResistantScope; requireSso: boolean };
export type StateEntry = { fp: string; at: number };
export type TenantEdgeState = {
  format: typeof TENANT_EDGE_FORMAT;
  tenantId: string;
  /** The tenant's name (set when it is created, never changed): the panel names its organisation from it. */
  tenantName: string;
  rules: CompiledRuleSet;
  policy: TenantPolicy;
  /** Until then snapshots of this tenant are not used (too many changes to list). */
  overflowUntil: number;
  /** No snapshot whose state was read from D1 before this is used (0: the cache was never rebuilt). */
  cacheRebuiltAt: number;
  users: Record<string, StateEntry>;
  sessions: Record<string, StateEntry>;
};

export const tenantEdgeKey = (tenantId: string) => `tenant-edge:${tenantId}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A stored document's text as this tenant's document, or why it cannot be used (then it is rebuilt from D1). */
export function parseStoredDocument(text: string, tenantId: string): TenantEdgeState | { unusable: string } {
  if (text.length > TENANT_EDGE_MAX_BYTES) return { unusable: `${text.length} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { unusable: "not JSON" };
  }
  if (!isObject(doc) || doc.format !== TENANT_EDGE_FORMAT) return { unusable: "another format" };
  if (doc.tenantId !== tenantId) return { unusable: "another tenant" };
  if (typeof doc.tenantName !== "string") return { unusable: "malformed" };
  const { rules, policy } = doc;
  const wellFormed =
    isCompiledRuleSet(rules) &&
    isObject(policy) &&
    typeof policy.requireTwoFactor === "boolean" &&
    typeof policy.requireSso === "boolean" &&
    (PHISHING_RESISTANT_SCOPES as readonly unknown[]).includes(policy.requirePhishingResistant) &&
    typeof doc.overflowUntil === "number" &&
    typeof doc.cacheRebuiltAt === "number" &&
    isObject(doc.users) &&
    isObject(doc.sessions);
  return wellFormed ? (doc as TenantEdgeState) : { unusable: "malformed" };
}
