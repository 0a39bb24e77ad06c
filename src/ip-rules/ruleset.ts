/**
 * The decision, pure: a tenant's rules compiled into a JSON-able index, and the
 * function that says what the index decides for one address at one instant.
 *
 * Semantics (documented in docs/ip-rules.md):
 *   1. a matching deny rule blocks (deny wins, whatever the allow rules say);
 *   2. if the tenant has any allow rule in effect, the address must match one;
 *   3. otherwise the address is allowed.
 * Rules whose expiresAt ≤ now do not count. Expiry is checked here, at decision time,
 * not only when compiling, because a compiled set lives in KV for minutes.
 * An unknown or unparseable client address is denied as soon as any rule is in
 * effect (fail closed: we cannot show it is outside a deny range or inside an allow
 * range); with no rules in effect it is allowed.
 *
 * Index: per family, rules grouped by canonical network text ("10.0.0.0/8"), plus
 * the prefix lengths in use. A check computes the client's network at each length in
 * use (at most 33 or 129) and looks it up, so it costs the same for 10 rules as for
 * 1,000 (see bench/ip-rules-check.mjs). No Workers-only imports.
 */
import { type Address, type Family, networkKey, parseAddress, parseNetwork } from "./cidr";
import type { RuleAction, RuleView } from "./views";
import { log } from "../lib/log";

export type { RuleAction, RuleView } from "./views";

/** What compiling needs from a stored rule (times in epoch ms). */
export type RuleInput = {
  id: string;
  action: RuleAction;
  cidr: string;
  description: string | null;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
};

/** The rule that decided, as the check reports it (the list has the rest, by id). */
export type MatchedRule = { id: string; action: RuleAction; cidr: string; expiresAt: string | null };

// [action, rule id, expiresAt ms]: a tuple, not an object, because this JSON is read on
// every request (and parsed whenever it changed): its size is the part of the hot path
// that grows with the rules.
type Entry = [action: RuleAction, id: string, expiresAt: number | null];
type FamilyIndex = { prefixes: number[]; networks: Record<string, Entry[]> };

export type CompiledRuleSet = {
  /** Bumped whenever this shape changes, so entries cached by an older deploy are ignored. */
  format: typeof RULE_SET_FORMAT;
  /** Number of rules compiled in (not yet expired at compile time). */
  count: number;
  /** Allow-list mode holds while now < allowListUntil (0: never; MAX_SAFE_INTEGER: no expiry). */
  allowListUntil: number;
  /** Some rule is in effect while now < anyRuleUntil. */
  anyRuleUntil: number;
  ipv4: FamilyIndex;
  ipv6: FamilyIndex;
};

export type DecisionReason =
  | "NO_RULES_IN_EFFECT"
  | "NO_MATCHING_RULE"
  | "DENY_RULE"
  | "ALLOW_RULE"
  | "NOT_IN_ALLOW_LIST"
  | "UNKNOWN_ADDRESS";

export type Decision = {
  allowed: boolean;
  /** The most specific rule that decided, if a rule did. */
  matchedRule: MatchedRule | null;
  reason: DecisionReason;
};

const FOREVER = Number.MAX_SAFE_INTEGER;
export const RULE_SET_FORMAT = 3; // bumped with every change of this shape (it is stored in the tenant's edge document)
const iso = (ms: number) => new Date(ms).toISOString();

export function toRuleView(rule: RuleInput): RuleView {
  return {
    id: rule.id,
    action: rule.action,
    cidr: rule.cidr,
    description: rule.description,
    createdBy: rule.createdBy,
    createdAt: iso(rule.createdAt),
    updatedAt: iso(rule.updatedAt),
    expiresAt: rule.expiresAt === null ? null : iso(rule.expiresAt),
  };
}

const isFamilyIndex = (v: unknown): v is FamilyIndex =>
  typeof v === "object" && v !== null && Array.isArray((v as FamilyIndex).prefixes) && typeof (v as FamilyIndex).networks === "object" && (v as FamilyIndex).networks !== null;

/** Shape check of a compiled set read back from a cache (one this format wrote): anything else is not used. */
export function isCompiledRuleSet(value: unknown): value is CompiledRuleSet {
  if (typeof value !== "object" || value === null) return false;
  const set = value as Partial<CompiledRuleSet>;
  return (
    set.format === RULE_SET_FORMAT &&
    typeof set.count === "number" &&
    typeof set.allowListUntil === "number" &&
    typeof set.anyRuleUntil === "number" &&
    isFamilyIndex(set.ipv4) &&
    isFamilyIndex(set.ipv6)
  );
}

export const isInEffect = (expiresAt: number | null, nowMs: number) => expiresAt === null || expiresAt > nowMs;

export function compileRuleSet(rules: readonly RuleInput[], nowMs: number): CompiledRuleSet {
  const set: CompiledRuleSet = {
    format: RULE_SET_FORMAT,
    count: 0,
    allowListUntil: 0,
    anyRuleUntil: 0,
    ipv4: { prefixes: [], networks: {} },
    ipv6: { prefixes: [], networks: {} },
  };
  for (const rule of rules) {
    if (!isInEffect(rule.expiresAt, nowMs)) continue;
    const network = parseNetwork(rule.cidr);
    // Stored rules were validated on the way in; one that no longer parses is skipped
    // loudly rather than taking the whole tenant down.
    if (!network.ok) {
      log.error("unparseable stored ip rule", { ruleId: rule.id, cidr: rule.cidr });
      continue;
    }
    const index = set[network.value.family];
    const key = network.value.cidr;
    const entries = index.networks[key] ?? [];
    entries.push([rule.action, rule.id, rule.expiresAt]);
    index.networks[key] = entries;
    if (!index.prefixes.includes(network.value.prefix)) index.prefixes.push(network.value.prefix);
    const until = rule.expiresAt ?? FOREVER;
    set.anyRuleUntil = Math.max(set.anyRuleUntil, until);
    if (rule.action === "allow") set.allowListUntil = Math.max(set.allowListUntil, until);
    set.count++;
  }
  // Longest prefix first, so the rule reported is the most specific that matched.
  set.ipv4.prefixes.sort((a, b) => b - a);
  set.ipv6.prefixes.sort((a, b) => b - a);
  return set;
}

/** Decides for an already parsed address (IPv4-mapped IPv6 already turned into IPv4). */
export function decideAddress(set: CompiledRuleSet, address: Address, nowMs: number): Decision {
  const family: Family = address.kind() === "ipv6" ? "ipv6" : "ipv4";
  const index = set[family];
  let allowMatch: MatchedRule | null = null;
  for (const prefix of index.prefixes) {
    const cidr = networkKey(address, prefix);
    for (const [action, id, expiresAt] of index.networks[cidr] ?? []) {
      if (!isInEffect(expiresAt, nowMs)) continue;
      const rule: MatchedRule = { id, action, cidr, expiresAt: expiresAt === null ? null : iso(expiresAt) };
      if (action === "deny") return { allowed: false, matchedRule: rule, reason: "DENY_RULE" };
      allowMatch ??= rule;
    }
  }
  if (allowMatch) return { allowed: true, matchedRule: allowMatch, reason: "ALLOW_RULE" };
  if (nowMs < set.allowListUntil) return { allowed: false, matchedRule: null, reason: "NOT_IN_ALLOW_LIST" };
  return { allowed: true, matchedRule: null, reason: nowMs < set.anyRuleUntil ? "NO_MATCHING_RULE" : "NO_RULES_IN_EFFECT" };
}

/**
 * Decisions already made for a compiled set, by the address as received: a busy isolate
 * sees the same addresses again and again while it holds the same set (at most
 * LOCAL_TENANT_EDGE_MS, src/edge-document/read.ts). Time changes a set's decision only at
 * the instants a rule stops counting (an expiresAt, allowListUntil, anyRuleUntil), so a
 * remembered decision holds from the instant it was made until the set's next such
 * instant, and never for an earlier instant. The differential test in
 * test/ip-rules-cidr.test.ts checks it against decideFresh.
 */
const REMEMBERED_PER_SET = 1024;
type Remembered = { decision: Decision; fromMs: number; untilMs: number };
const rememberedBySet = new WeakMap<CompiledRuleSet, Map<string, Remembered>>();

/** The first instant after `nowMs` at which some rule of the set stops counting. */
function nextExpiryAfter(set: CompiledRuleSet, nowMs: number): number {
  let next = FOREVER;
  const consider = (at: number | null) => {
    if (at !== null && at > nowMs && at < next) next = at;
  };
  consider(set.allowListUntil);
  consider(set.anyRuleUntil);
  for (const index of [set.ipv4, set.ipv6]) for (const entries of Object.values(index.networks)) for (const [, , expiresAt] of entries) consider(expiresAt);
  return next;
}

/** Decides for the client address as received (null when the request carried none). */
export function decide(set: CompiledRuleSet, rawAddress: string | null, nowMs: number): Decision {
  if (rawAddress === null) return decideFresh(set, rawAddress, nowMs);
  let remembered = rememberedBySet.get(set);
  const hit = remembered?.get(rawAddress);
  if (hit && hit.fromMs <= nowMs && nowMs < hit.untilMs) return hit.decision;
  const decision = decideFresh(set, rawAddress, nowMs);
  if (!remembered) {
    remembered = new Map();
    rememberedBySet.set(set, remembered);
  }
  if (remembered.size >= REMEMBERED_PER_SET) remembered.delete(remembered.keys().next().value as string);
  remembered.set(rawAddress, { decision, fromMs: nowMs, untilMs: nextExpiryAfter(set, nowMs) });
  return decision;
}

/** decide without the memo: parses the address and looks it up. */
export function decideFresh(set: CompiledRuleSet, rawAddress: string | null, nowMs: number): Decision {
  const parsed = rawAddress === null ? null : parseAddress(rawAddress);
  if (!parsed?.ok) {
    const anyInEffect = nowMs < set.anyRuleUntil;
    return anyInEffect
      ? { allowed: false, matchedRule: null, reason: "UNKNOWN_ADDRESS" }
      : { allowed: true, matchedRule: null, reason: "NO_RULES_IN_EFFECT" };
  }
  return decideAddress(set, parsed.value, nowMs);
}
