/**
 * Per-isolate memo of parsed rule sets, keyed by tenant and checked against the exact
 * text KV returned. Parsing the cached JSON is the only part of the hot path that
 * grows with the number of rules (~50 KB for 1,000 rules); comparing the text with the
 * last one parsed is far cheaper (bench/ip-rules-check.mjs).
 *
 * Correctness does not depend on the memo: KV is still read on every request, and a
 * set is reused only when its text is identical, so a change is seen exactly when KV
 * shows it. Callers must not mutate the returned set (it is shared across requests).
 * Memory is bounded (least recently used tenants are dropped first).
 * No Workers-only imports: the benchmark bundles this for plain Node.
 */
import { type CompiledRuleSet, RULE_SET_FORMAT } from "./ruleset";

// Well under a Worker isolate's 128 MB; the text and its parsed form both count.
const MAX_MEMO_CHARS = 2 * 1024 * 1024;

type Memo = { text: string; set: CompiledRuleSet };
const memo = new Map<string, Memo>();
let memoChars = 0;

function forget(tenantId: string): void {
  const old = memo.get(tenantId);
  if (!old) return;
  memo.delete(tenantId);
  memoChars -= old.text.length;
}

/** The rule set a cached text encodes, or null if it is of another format. Throws on malformed JSON. */
export function parseRuleSetText(tenantId: string, text: string): CompiledRuleSet | null {
  const hit = memo.get(tenantId);
  if (hit && hit.text === text) {
    // Map keeps insertion order: re-inserting marks the tenant as recently used.
    memo.delete(tenantId);
    memo.set(tenantId, hit);
    return hit.set;
  }
  forget(tenantId);
  const set = JSON.parse(text) as CompiledRuleSet | null;
  if (set?.format !== RULE_SET_FORMAT) return null;
  if (text.length <= MAX_MEMO_CHARS) {
    for (const [oldest] of memo) {
      if (memoChars + text.length <= MAX_MEMO_CHARS) break;
      forget(oldest);
    }
    memo.set(tenantId, { text, set });
    memoChars += text.length;
  }
  return set;
}
