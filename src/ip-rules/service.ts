/**
 * What the routes and the enforcement share besides the edge document: the tenant's rules
 * as D1 lists them, the lockout guard, duplicate and limit checks, and the deduplicated
 * audit of refused requests.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { recordRepeatedRefusal } from "../audit/dedupe";
import type { Db } from "../db/client";
import { failedWith } from "../db/errors";
import { assertInBatch } from "../db/invariants";
import { type IpRule, ipRules } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { requestMeta } from "../lib/request-meta";
import { formatAddress, parseAddress } from "./cidr";
import { compileRuleSet, type Decision, decide, type MatchedRule, type RuleInput, type RuleView, toRuleView } from "./ruleset";
import { MAX_RULES_PER_TENANT } from "./schemas";
import { errorSummary, log } from "../lib/log";

/** The tenant's rules as stored in D1, oldest first (what the routes list and check changes against). */
export async function listTenantRules(db: Db, tenantId: string) {
  return db.select().from(ipRules).where(eq(ipRules.tenantId, tenantId)).orderBy(asc(ipRules.createdAt), asc(ipRules.id));
}

/** The client address as the edge reported it, canonical when it parses (for logs and keys). */
export function clientAddress(c: Context<AppEnv>): string | null {
  const raw = requestMeta(c).ip;
  if (raw === null) return null;
  const parsed = parseAddress(raw);
  return parsed.ok ? formatAddress(parsed.value) : raw.slice(0, 64);
}

/**
 * Lockout guard: the rule set as it would be after the change must admit the caller's
 * current address now and at every instant a pending expiry changes it (a set changes
 * only when a rule expires), so a change is refused if the caller would be locked out
 * later, e.g. when a temporary allow rule covering them lapses while a permanent allow
 * for another network remains. A temporary rule that leaves no allow rule behind when it
 * lapses is fine. Evaluated on the rules read from D1, not the cache; the batch then
 * asserts those rules (expiry included) are still the ones checked (ruleSetUnchanged).
 */
export function assertNoLockout(c: Context<AppEnv>, rulesAfter: readonly RuleInput[]): void {
  const now = c.get("now");
  const ip = clientAddress(c);
  const expiries = rulesAfter.map((r) => r.expiresAt).filter((at): at is number => at !== null && at > now);
  for (const at of [now, ...new Set(expiries)].sort((a, b) => a - b)) {
    const decision = decide(compileRuleSet(rulesAfter, at), ip, at);
    if (decision.allowed) continue;
    const matched = rulesAfter.find((r) => r.id === decision.matchedRule?.id);
    const when = at === now ? "" : ` from ${new Date(at).toISOString()}, when a temporary rule expires`;
    throw new ApiError(409, "WOULD_LOCK_OUT", `This change would block your own current address (${ip ?? "unknown"})${when}; nothing was changed`, {
      details: {
        ip,
        reason: decision.reason,
        matchedRule: matched ? toRuleView(matched) : null,
        ...(at === now ? {} : { blockedFrom: new Date(at).toISOString() }),
      },
    });
  }
}

/**
 * The full view of the rule a decision matched. The cached set carries only what
 * enforcement needs (kept small: it is parsed on every request), so the admin-facing
 * check reads the rest by primary key, only when a rule matched. A rule deleted since
 * the set was cached is shown as the set knew it.
 */
export async function describeMatch(c: Context<AppEnv>, tenantId: string, match: MatchedRule): Promise<RuleView | MatchedRule> {
  try {
    const row = await c.var.db.query.ipRules.findFirst({ where: and(eq(ipRules.id, match.id), eq(ipRules.tenantId, tenantId)) });
    return row ? toRuleView(row) : match;
  } catch (err) {
    log.error("ip rule lookup failed", { error: errorSummary(err) });
    throw new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");
  }
}

/** Same action and same network as another rule: 409 (the unique index is the backstop). */
export function assertNotDuplicate(rules: readonly IpRule[], candidate: Pick<IpRule, "id" | "action" | "cidr">): void {
  const twin = rules.find((r) => r.id !== candidate.id && r.action === candidate.action && r.cidr === candidate.cidr);
  if (twin) {
    throw new ApiError(409, "DUPLICATE_RULE", `A ${candidate.action} rule for ${candidate.cidr} already exists`, { details: { existingRuleId: twin.id } });
  }
}

/**
 * The text the guards above depend on: every rule's id, action, network and expiry,
 * ordered by id. ruleSetUnchanged() has SQLite compute the same text inside the
 * change's batch.
 */
export function ruleSetFingerprint(rules: readonly IpRule[]): string | null {
  if (rules.length === 0) return null; // group_concat over no rows is NULL
  return rules
    .map((r) => `${r.id}:${r.action}:${r.cidr}:${r.expiresAt ?? ""}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .join(",");
}

/**
 * Batch items, placed before the change, asserting that the tenant's rules are still
 * those the lockout guard, the limit and the duplicate check were run on. D1 runs
 * batches one at a time, so two admins each removing "the other" allow rule cannot
 * both commit and lock everyone out: the later batch aborts on the CHECK
 * (invariant_guard, as for the last owner) and nothing of it is written.
 */
export function ruleSetUnchanged(db: Db, tenantId: string, fingerprint: string | null) {
  const current = sql`(SELECT group_concat(${ipRules.id} || ':' || ${ipRules.action} || ':' || ${ipRules.cidr} || ':' || ifnull(${ipRules.expiresAt}, ''), ',' ORDER BY ${ipRules.id}) FROM ${ipRules} WHERE ${ipRules.tenantId} = ${tenantId})`;
  return assertInBatch(db, tenantId, "IP_RULES_UNCHANGED", sql`${current} IS ${fingerprint}`);
}

export const isDuplicateRuleError = (err: unknown) => failedWith(err, /UNIQUE constraint failed: ip_rules\./);

export function assertRoomForOneMore(rules: readonly IpRule[]): void {
  if (rules.length >= MAX_RULES_PER_TENANT) {
    throw new ApiError(400, "TOO_MANY_RULES", `A tenant can have at most ${MAX_RULES_PER_TENANT} IP rules; delete unused or expired ones first`, {
      details: { limit: MAX_RULES_PER_TENANT },
    });
  }
}

export function assertFuture(expiresAt: number | null | undefined, nowMs: number): void {
  if (typeof expiresAt === "number" && expiresAt <= nowMs) {
    throw new ApiError(400, "VALIDATION_FAILED", "Invalid json: expiresAt: must be in the future", {
      details: { issues: [{ path: "expiresAt", message: "must be in the future" }] },
    });
  }
}

/**
 * Repeats of an IP_ACCESS_DENIED refusal (same user, reason, route and client address)
 * are deduplicated per minute (rows at the 1st, 2nd, 4th, ... refusal, with the count,
 * see src/audit/dedupe.ts): a blocked client retrying in a loop must not flood (or, by
 * volume, hide things in) the log.
 */
export async function recordDenial(
  c: Context<AppEnv>,
  who: { tenantId: string; userId: string; stage: "sign-in" | "request" },
  decision: Decision,
): Promise<void> {
  const ip = clientAddress(c);
  await recordRepeatedRefusal(
    c,
    {
      action: "IP_ACCESS_DENIED",
      outcome: "FAIL",
      tenantId: who.tenantId,
      actorUserId: who.userId,
      targetType: "ip_address",
      targetId: ip,
      failureReason: decision.reason,
      metadata: { stage: who.stage, matchedRuleId: decision.matchedRule?.id ?? null, method: c.req.method, path: c.req.path },
    },
    [ip ?? "unknown"],
  );
}
