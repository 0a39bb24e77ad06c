/**
 * /api/security/ip-rules: list, check, create, update, delete.
 *
 * Every change: audited first (FAIL rows for refusals), then input, permission,
 * step-up (IP_RULE_CHANGE, second factor only), then the handler. The handler reads
 * the tenant's rules from D1 once, refuses duplicates, overflow and self-lockout on
 * that snapshot, and commits the change with its SUCCESS row (before/after) in one
 * batch guarded by the snapshot; then it rewrites the KV copy.
 */
import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { isInvariantViolation } from "../db/invariants";
import { type IpRule, ipRules } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requirePermission } from "../lib/authorize";
import { randomId } from "../lib/crypto";
import { requestMeta } from "../lib/request-meta";
import { type Propagation, withPropagation } from "../propagation";
import { validate } from "../lib/validation";
import { requireStepUp } from "../stepup/middleware";
import { loadRuleSet, rewriteEdgeAfterRuleOrPolicyChange } from "../edge-document/rules-and-policy";
import { formatAddress, parseAddress } from "./cidr";
import { decide, toRuleView } from "./ruleset";
import { checkQuery, createRuleBody, ruleIdParam, updateRuleBody } from "./schemas";
import {
  assertFuture,
  assertNoLockout,
  assertNotDuplicate,
  assertRoomForOneMore,
  describeMatch,
  isDuplicateRuleError,
  listTenantRules,
  ruleSetFingerprint,
  ruleSetUnchanged,
} from "./service";
import { answers } from "../openapi/notes";

const ruleNotFound = () => notFound("IP rule", "IP_RULE_NOT_FOUND");

/**
 * The change and its audit row in one batch, guarded by the snapshot of the rules the
 * checks ran on (a concurrent change in between is a 409, nothing written); then KV
 * (whether that reached every location is the outcome, for the success answer).
 */
async function commitRuleChange(c: Context<AppEnv>, checked: readonly IpRule[], change: BatchItem<"sqlite">, event: AuditEvent): Promise<Propagation> {
  const db = c.var.db;
  const tenantId = c.get("user").tenantId;
  try {
    await commitWithAudit(c, [...ruleSetUnchanged(db, tenantId, ruleSetFingerprint(checked)), change], event);
  } catch (err) {
    if (isDuplicateRuleError(err)) throw new ApiError(409, "DUPLICATE_RULE", "An identical rule already exists");
    if (isInvariantViolation(err)) {
      throw new ApiError(409, "IP_RULES_CHANGED", "The IP rules changed while this change was being checked; reload them and try again");
    }
    throw err;
  }
  return rewriteEdgeAfterRuleOrPolicyChange(c, tenantId);
}

/** Mounted at /api/security/ip-rules, behind the edge check (its last step: enforceIpRules). */
export const ipRuleRoutes = new Hono<AppEnv>()
  .get("/", requirePermission("SETTINGS_SECURITY_VIEW"), async (c) => {
    const rules = await listTenantRules(c.var.db, c.get("user").tenantId);
    return c.json({ rules: rules.map(toRuleView) });
  })
  // Same path as enforcement (KV-cached set, clock of the request), so it says exactly
  // what enforcement would do. Without ?ip= it checks the caller's own address.
  .get("/check", validate("query", checkQuery), requirePermission("SETTINGS_SECURITY_VIEW"), async (c) => {
    const tenantId = c.get("user").tenantId;
    const set = await loadRuleSet(c, tenantId);
    const raw = c.req.valid("query").ip ?? requestMeta(c).ip;
    const parsed = raw === null ? null : parseAddress(raw);
    const decision = decide(set, raw, c.get("now"));
    const ip = parsed?.ok ? formatAddress(parsed.value) : raw;
    const matchedRule = decision.matchedRule ? await describeMatch(c, tenantId, decision.matchedRule) : null;
    return c.json({ ip, allowed: decision.allowed, matchedRule, reason: decision.reason });
  })
  .post(
    "/",
    audited("IP_RULE_CREATED", { targetType: "ip_rule" }),
    validate("json", createRuleBody),
    forbidWhileImpersonating("Changing IP rules"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("IP_RULE_CHANGE"),
    answers("WOULD_LOCK_OUT", "DUPLICATE_RULE", "TOO_MANY_RULES", "IP_RULES_CHANGED"),
    async (c) => {
      const me = c.get("user");
      const now = c.get("now");
      const body = c.req.valid("json");
      assertFuture(body.expiresAt, now);
      const rules = await listTenantRules(c.var.db, me.tenantId);
      assertRoomForOneMore(rules);
      const rule: IpRule = { id: randomId("ipr_"), tenantId: me.tenantId, ...body, createdBy: me.id, createdAt: now, updatedAt: now };
      assertNotDuplicate(rules, rule);
      assertNoLockout(c, [...rules, rule]);

      const propagation = await commitRuleChange(c, rules, c.var.db.insert(ipRules).values(rule), {
        action: "IP_RULE_CREATED",
        outcome: "SUCCESS",
        targetType: "ip_rule",
        targetId: rule.id,
        before: null,
        after: toRuleView(rule),
      });
      return c.json({ rule: toRuleView(rule), ...withPropagation(propagation) }, 201);
    },
  )
  .patch(
    "/:id",
    audited("IP_RULE_UPDATED", { targetType: "ip_rule", targetParam: "id" }),
    validate("param", ruleIdParam),
    validate("json", updateRuleBody),
    forbidWhileImpersonating("Changing IP rules"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("IP_RULE_CHANGE"),
    answers("IP_RULE_NOT_FOUND", "WOULD_LOCK_OUT", "DUPLICATE_RULE", "IP_RULES_CHANGED"),
    async (c) => {
      const me = c.get("user");
      const now = c.get("now");
      const changes = c.req.valid("json");
      // One read: the rule and the snapshot the guards run on cannot disagree.
      const rules = await listTenantRules(c.var.db, me.tenantId);
      const before = rules.find((r) => r.id === c.req.valid("param").id);
      if (!before) throw ruleNotFound();
      assertFuture(changes.expiresAt, now);
      const after: IpRule = {
        ...before,
        action: changes.action ?? before.action,
        cidr: changes.cidr ?? before.cidr,
        description: changes.description === undefined ? before.description : changes.description,
        expiresAt: changes.expiresAt === undefined ? before.expiresAt : changes.expiresAt,
        updatedAt: now,
      };
      assertNotDuplicate(rules, after);
      assertNoLockout(c, [...rules.filter((r) => r.id !== before.id), after]);

      const { action, cidr, description, expiresAt, updatedAt } = after;
      const update = c.var.db
        .update(ipRules)
        .set({ action, cidr, description, expiresAt, updatedAt })
        .where(and(eq(ipRules.id, before.id), eq(ipRules.tenantId, me.tenantId)));
      const propagation = await commitRuleChange(c, rules, update, {
        action: "IP_RULE_UPDATED",
        outcome: "SUCCESS",
        targetType: "ip_rule",
        targetId: before.id,
        before: toRuleView(before),
        after: toRuleView(after),
      });
      return c.json({ rule: toRuleView(after), ...withPropagation(propagation) });
    },
  )
  .delete(
    "/:id",
    audited("IP_RULE_DELETED", { targetType: "ip_rule", targetParam: "id" }),
    validate("param", ruleIdParam),
    forbidWhileImpersonating("Changing IP rules"),
    requirePermission("SETTINGS_SECURITY_EDIT"),
    requireStepUp("IP_RULE_CHANGE"),
    answers("IP_RULE_NOT_FOUND", "WOULD_LOCK_OUT", "IP_RULES_CHANGED"),
    async (c) => {
      const me = c.get("user");
      const rules = await listTenantRules(c.var.db, me.tenantId);
      const rule = rules.find((r) => r.id === c.req.valid("param").id);
      if (!rule) throw ruleNotFound();
      // Deleting can lock out too: the last allow rule covering the caller while others remain.
      assertNoLockout(c, rules.filter((r) => r.id !== rule.id));

      const remove = c.var.db
        .delete(ipRules)
        .where(and(eq(ipRules.id, rule.id), eq(ipRules.tenantId, me.tenantId)));
      const propagation = await commitRuleChange(c, rules, remove, {
        action: "IP_RULE_DELETED",
        outcome: "SUCCESS",
        targetType: "ip_rule",
        targetId: rule.id,
        before: toRuleView(rule),
        after: null,
      });
      return c.json({ success: true, ...withPropagation(propagation) });
    },
  );
