/**
 * KV copy of each tenant's compiled rule set (key `ip-rules:<tenantId>`), so the check
 * on a hot request costs one KV read and no D1 query. A tenant without rules is
 * cached too (an empty set), or every request of every such tenant would query D1.
 *
 * Consistency, as for sessions: writers change D1 first, then rewrite this entry, so a
 * change is enforced on the next request at the same location and elsewhere once KV
 * propagates (up to ~60 s). Entries live at most RULES_CACHE_TTL_SECONDS, which bounds
 * how long a lost race (a miss refill racing a change) can keep a stale set.
 * Expiry needs no invalidation: the decision checks expiresAt against the clock.
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
import { type CompiledRuleSet, RULE_SET_FORMAT, compileRuleSet } from "./ruleset";
import { errorSummary, log } from "../lib/log";

// As for sessions (src/sessions/cache.ts): the longest a stale set can outlive a lost
// race; the price is one D1 read per tenant every 5 minutes (KV refuses TTLs under 60 s).
export const RULES_CACHE_TTL_SECONDS = 300;

const keyOf = (tenantId: string) => `ip-rules:${tenantId}`;

/**
 * In-isolate copy of each tenant's set, as for sessions (src/sessions/cache.ts), so a
 * busy isolate does not pay a KV read per request. Staleness bound: a copy is trusted
 * for at most LOCAL_RULES_MS after it was read or written. A change made through this
 * isolate replaces the copy at once; one made through another isolate at this location
 * is enforced here within a second.
 */
export const LOCAL_RULES_MS = 1000;
const LOCAL_MAX_TENANTS = 1000;
const local = new Map<string, { set: CompiledRuleSet; storedAt: number }>();

function remember(tenantId: string, set: CompiledRuleSet, nowMs: number): void {
  if (local.size >= LOCAL_MAX_TENANTS) local.delete(local.keys().next().value as string);
  local.delete(tenantId); // re-insert: Map order is the eviction order
  local.set(tenantId, { set, storedAt: nowMs });
}

export async function listTenantRules(db: Db, tenantId: string) {
  return db.select().from(ipRules).where(eq(ipRules.tenantId, tenantId)).orderBy(asc(ipRules.createdAt), asc(ipRules.id));
}

async function readCached(kv: KVNamespace, tenantId: string): Promise<CompiledRuleSet | null> {
  const set = await kv.get<CompiledRuleSet>(keyOf(tenantId), "json");
  // An entry of another format (an older deploy) is a miss, not trusted.
  return set?.format === RULE_SET_FORMAT ? set : null;
}

async function compileFromDb(c: Context<AppEnv>, tenantId: string): Promise<CompiledRuleSet> {
  return compileRuleSet(await listTenantRules(c.var.db, tenantId), c.get("now"));
}

const writeCached = (kv: KVNamespace, tenantId: string, set: CompiledRuleSet) =>
  kv.put(keyOf(tenantId), JSON.stringify(set), { expirationTtl: RULES_CACHE_TTL_SECONDS });

const unavailable = () => new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");

/** The tenant's rule set for enforcement and the check endpoint: KV, else D1 (then refill KV). */
export async function loadRuleSet(c: Context<AppEnv>, tenantId: string): Promise<CompiledRuleSet> {
  try {
    const now = c.get("now");
    const hit = local.get(tenantId);
    const age = hit ? now - hit.storedAt : Number.POSITIVE_INFINITY;
    if (hit && age >= 0 && age < LOCAL_RULES_MS) return hit.set;
    const cached = await readCached(c.env.SESSION_CACHE, tenantId);
    if (cached) {
      remember(tenantId, cached, now);
      return cached;
    }
    const set = await compileFromDb(c, tenantId);
    remember(tenantId, set, now);
    // The decision is already made from D1; a failed refill only costs the next request a query.
    c.executionCtx.waitUntil(writeCached(c.env.SESSION_CACHE, tenantId, set).catch(() => undefined));
    return set;
  } catch (err) {
    log.error("ip rules unavailable", { error: errorSummary(err) });
    throw unavailable();
  }
}

/**
 * After a change was committed to D1, rewrite the KV entry from D1 (not from the
 * request's in-memory view, which a concurrent change could have overtaken). If that
 * fails, deleting the entry still makes the next request read D1. If KV refuses both,
 * the change stands but this location may enforce the old set until the entry
 * expires: the caller hears so (503, saved: true) rather than a plain success.
 */
export async function refreshRuleCache(c: Context<AppEnv>, tenantId: string): Promise<void> {
  try {
    const set = await compileFromDb(c, tenantId);
    remember(tenantId, set, c.get("now"));
    await writeCached(c.env.SESSION_CACHE, tenantId, set);
  } catch (err) {
    local.delete(tenantId);
    log.error("ip rules cache sync failed", { error: errorSummary(err) });
    const deleted = await Promise.resolve()
      .then(() => c.env.SESSION_CACHE.delete(keyOf(tenantId)))
      .then(
      () => true,
      () => false,
    );
    if (deleted) return;
    throw new ApiError(503, "AUTH_UNAVAILABLE", `The change was saved but may take up to ${RULES_CACHE_TTL_SECONDS / 60} minutes to be enforced; reload the rules to confirm`, {
      details: { saved: true },
    });
  }
}
