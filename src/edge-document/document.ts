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
import { and, asc, eq, gte } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../db/client";
import { cacheRebuilds, ipRules, sessionStateChanges, tenants, userSessions } from "../db/schema";
import type { AppEnv } from "../env";
import { type CompiledRuleSet, compileRuleSet, isCompiledRuleSet } from "../ip-rules/ruleset";
import { errorSummary, log } from "../lib/log";
import { SNAPSHOT_MAX_AGE_MS } from "../sessions/snapshot";

export const TENANT_EDGE_FORMAT = 1;
/** How long a state entry is kept: the longest a snapshot is trusted, plus a minute for clock skew. */
export const TENANT_EDGE_WINDOW_MS = SNAPSHOT_MAX_AGE_MS + 60_000;
export const TENANT_EDGE_MAX_ENTRIES = 5_000;
export const TENANT_EDGE_MAX_BYTES = 512 * 1024;
/** The longest a document outlives a lost race; the price is one D1 batch per tenant every 5 minutes (KV refuses TTLs under 60 s). */
export const TENANT_EDGE_TTL_SECONDS = 300;
export const LOCAL_TENANT_EDGE_MS = 1000;
const LOCAL_MAX_TENANTS = 1000;
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

const local = new Map<string, { doc: TenantEdgeState; storedAt: number }>();

function remember(doc: TenantEdgeState, nowMs: number): void {
  if (local.size >= LOCAL_MAX_TENANTS) local.delete(local.keys().next().value as string);
  local.delete(doc.tenantId); // re-insert: Map order is the eviction order
  local.set(doc.tenantId, { doc, storedAt: nowMs });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The stored document, or why it cannot be used (then it is rebuilt from D1). Throws only if KV does. */
async function readFromKv(kv: KVNamespace, tenantId: string): Promise<TenantEdgeState | { unusable: string } | null> {
  const text = await kv.get(tenantEdgeKey(tenantId), "text");
  if (text === null) return null;
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

/** The document as D1 says it now, in one batch. */
async function buildFromDb(db: Db, tenantId: string, nowMs: number): Promise<TenantEdgeState> {
  const since = nowMs - TENANT_EDGE_WINDOW_MS;
  const [ruleRows, changes, revoked, rebuilds] = await db.batch([
    // One row per rule, or one row without a rule.
    db
      .select({ requireTwoFactor: tenants.requireTwoFactor, rule: ipRules })
      .from(tenants)
      .leftJoin(ipRules, eq(ipRules.tenantId, tenants.id))
      .where(eq(tenants.id, tenantId))
      .orderBy(asc(ipRules.createdAt), asc(ipRules.id)),
    db
      .select()
      .from(sessionStateChanges)
      .where(and(eq(sessionStateChanges.tenantId, tenantId), gte(sessionStateChanges.changedAt, since))),
    db
      .select({ id: userSessions.id, revokedAt: userSessions.revokedAt })
      .from(userSessions)
      .where(and(eq(userSessions.tenantId, tenantId), gte(userSessions.revokedAt, since))),
    db.select({ at: cacheRebuilds.rebuiltAt }).from(cacheRebuilds).where(eq(cacheRebuilds.id, 1)),
  ]);
  const doc: TenantEdgeState = {
    format: TENANT_EDGE_FORMAT,
    tenantId,
    rules: compileRuleSet(
      ruleRows.flatMap((r) => (r.rule ? [r.rule] : [])),
      nowMs,
    ),
    policy: { requireTwoFactor: ruleRows[0]?.requireTwoFactor ?? false },
    overflowUntil: 0,
    cacheRebuiltAt: rebuilds[0]?.at ?? 0,
    users: {},
    sessions: {},
  };
  for (const row of changes) (row.subjectType === "user" ? doc.users : doc.sessions)[row.subjectId] = { fp: row.fingerprint, at: row.changedAt };
  for (const row of revoked) doc.sessions[row.id] = { fp: REVOKED_FINGERPRINT, at: row.revokedAt ?? nowMs };
  const count = Object.keys(doc.users).length + Object.keys(doc.sessions).length;
  if (count <= TENANT_EDGE_MAX_ENTRIES && JSON.stringify(doc).length <= TENANT_EDGE_MAX_BYTES) return doc;
  return { ...doc, overflowUntil: nowMs + TENANT_EDGE_WINDOW_MS, users: {}, sessions: {} };
}

const writeToKv = (kv: KVNamespace, doc: TenantEdgeState) => kv.put(tenantEdgeKey(doc.tenantId), JSON.stringify(doc), { expirationTtl: TENANT_EDGE_TTL_SECONDS });

/**
 * The tenant's document for the edge check: the in-isolate copy (≤ 1 s), else KV, else
 * (missing or unusable) rebuilt from D1 and written back. Throws on any KV or D1 error.
 */
export async function readEdgeState(c: Context<AppEnv>, tenantId: string): Promise<TenantEdgeState> {
  const now = c.get("now");
  const hit = local.get(tenantId);
  const age = hit ? now - hit.storedAt : Number.POSITIVE_INFINITY;
  if (hit && age >= 0 && age < LOCAL_TENANT_EDGE_MS) return hit.doc;
  const stored = await readFromKv(c.env.SESSION_CACHE, tenantId);
  if (stored && !("unusable" in stored)) {
    remember(stored, now);
    return stored;
  }
  if (stored) log.warn("tenant edge document unusable; rebuilt from D1", { tenantId, reason: stored.unusable });
  const rebuilt = await buildFromDb(c.var.db, tenantId, now);
  remember(rebuilt, now);
  // The decision is already made from D1; a failed refill only costs the next request a D1 batch.
  c.executionCtx.waitUntil(writeToKv(c.env.SESSION_CACHE, rebuilt).catch(() => undefined));
  return rebuilt;
}

/**
 * KV takes one write per key per second: a writer that meets another write of the same
 * document (another change, a refill) is refused. It then waits and writes a fresh build:
 * any build made after its commit carries its change.
 */
export const EDGE_WRITE_ATTEMPTS = 3;
export const EDGE_WRITE_RETRY_MS = 1100;

/**
 * After a change (rules, policy, a user or their sessions) was committed to D1: rebuilds
 * the whole document from D1 and writes it, in this isolate at once and in KV, retrying a
 * refused write (EDGE_WRITE_ATTEMPTS, each a fresh build), then deleting the stored
 * document (every location then rebuilds it from D1). Throws if D1 fails, or if KV refused
 * every write and the delete; this isolate keeps the copy built after the commit.
 */
export async function rewriteEdgeState(c: Context<AppEnv>, tenantId: string): Promise<void> {
  const kv = c.env.SESSION_CACHE;
  let refused: unknown;
  for (let attempt = 1; attempt <= EDGE_WRITE_ATTEMPTS; attempt++) {
    if (attempt > 1) await c.get("pause")(EDGE_WRITE_RETRY_MS);
    const doc = await buildFromDb(c.var.db, tenantId, c.get("now"));
    remember(doc, c.get("now"));
    try {
      await writeToKv(kv, doc);
      return;
    } catch (err) {
      refused = err;
      log.warn("tenant edge document write refused", { tenantId, attempt, error: errorSummary(err) });
    }
  }
  await c.get("pause")(EDGE_WRITE_RETRY_MS);
  try {
    await kv.delete(tenantEdgeKey(tenantId));
  } catch {
    throw refused;
  }
}
