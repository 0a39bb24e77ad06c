/**
 * The tenant's edge document (KV key `tenant-edge:<tenantId>`): everything the edge check
 * needs per tenant, so a hot request costs at most ONE KV read per tenant per isolate-second
 * and no D1 query. It holds two parts, built together:
 *   - `rules` and `policy`: the tenant's compiled IP rule set (src/ip-rules/ruleset.ts) and
 *     its edge policy (required two-factor, from the tenants row), read through
 *     src/edge-document/rules-and-policy.ts (enforcement, the check endpoint, the enrolment gate, sign-in);
 *   - `users` / `sessions` / `overflowUntil`: which session snapshots a recent change has
 *     made stale (src/edge-document/staleness.ts records the fingerprints; the snapshot
 *     check, src/sessions/snapshot-check.ts, reads them). For every user and session changed
 *     in the last TENANT_EDGE_WINDOW_MS it holds the fingerprint of their current state (a
 *     revoked session's fingerprint never matches a snapshot); anything older cannot
 *     matter, because no snapshot is trusted longer than SNAPSHOT_MAX_AGE_MS. And
 *     `cacheRebuiltAt`: when the cache was last rebuilt after a D1 restore (the
 *     `cache_rebuilds` row `npm run cache:rebuild` writes): no snapshot whose state was
 *     read from D1 before then is used, so none issued before a restore outlives its rebuild.
 *
 * Built only from D1, whole, in one batch (the tenant row joined with its rules, the
 * fingerprints recorded within the window, the sessions revoked within it, the last cache
 * rebuild), never from what KV holds: so a rule change and a revocation written at once
 * never lose each other's change. Only the order of two KV writes can invert (a refill built before a change and
 * written after it, or two writers' puts): the older document then stands until the next
 * write or its TTL, and no snapshot it wrongly leaves standing outlives SNAPSHOT_MAX_AGE_MS.
 * Writers: rewriteEdgeAfterRuleOrPolicyChange (rules, policy) and recordTenantChanges (every change to users
 * or their sessions, via refreshCachedSessions), after their D1 commit, through
 * rewriteEdgeState (which waits out KV's one write per key per second); and a reader that
 * found no usable document writes back what it rebuilt.
 *
 * Readers get the in-isolate copy (trusted for at most LOCAL_TENANT_EDGE_MS: a change
 * through another isolate at this location is seen within a second), else KV, else the
 * document rebuilt from D1 and written back. A stored document that does not parse, is of
 * another format or tenant, is malformed or is over TENANT_EDGE_MAX_BYTES is treated as
 * missing (rebuilt from D1 and written back: it heals itself). Any KV or D1 error throws:
 * callers answer 503 AUTH_UNAVAILABLE (fail closed, never "no rules" or "nothing stale").
 *
 * Every write carries a KV TTL of TENANT_EDGE_TTL_SECONDS, which bounds how long a lost
 * race (a miss refill built before a change, written after it) can keep a stale document.
 * Bounded size: a tenant with more than TENANT_EDGE_MAX_ENTRIES changes in a window (or
 * whose entries would not fit the byte bound) keeps its rules and policy but gets
 * `overflowUntil` instead of entries: its snapshots are not used (every request takes the
 * per-session path) until then.
 */
import { type CompiledRuleSet, isCompiledRuleSet } from "../ip-rules/ruleset";
import { SNAPSHOT_MAX_AGE_MS } from "../sessions/snapshot";

export const TENANT_EDGE_FORMAT = 1;
/** How long a state entry is kept: the longest a snapshot is trusted, plus a minute for clock skew. */
export const TENANT_EDGE_WINDOW_MS = SNAPSHOT_MAX_AGE_MS + 60_000;
export const TENANT_EDGE_MAX_ENTRIES = 5_000;
export const TENANT_EDGE_MAX_BYTES = 512 * 1024;
/** The longest a document outlives a lost race; the price is one D1 batch per tenant every 5 minutes (KV refuses TTLs under 60 s). */
export const TENANT_EDGE_TTL_SECONDS = 300;
/** The fingerprint of a revoked session: matches no snapshot. */
export const REVOKED_FINGERPRINT = "revoked";

/** The tenant's policy as the edge enforces it (tenants row, owner-set). */
export type TenantPolicy = { requireTwoFactor: boolean };
export type StateEntry = { fp: string; at: number };
export type TenantEdgeState = {
  format: typeof TENANT_EDGE_FORMAT;
  tenantId: string;
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
  const { rules, policy } = doc;
  const wellFormed =
    isCompiledRuleSet(rules) &&
    isObject(policy) &&
    typeof policy.requireTwoFactor === "boolean" &&
    typeof doc.overflowUntil === "number" &&
    typeof doc.cacheRebuiltAt === "number" &&
    isObject(doc.users) &&
    isObject(doc.sessions);
  return wellFormed ? (doc as TenantEdgeState) : { unusable: "malformed" };
}
