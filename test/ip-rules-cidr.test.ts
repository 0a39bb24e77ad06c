// Pure parsing and decision tests: no app, no D1. The HTTP behaviour is in
// ip-rules-routes.test.ts and ip-rules-enforcement.test.ts.
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { networkAddress, parseAddress, parseNetwork } from "../src/ip-rules/cidr";
import { compileRuleSet, type DecisionReason, decide, decideFresh, type RuleAction, type RuleInput } from "../src/ip-rules/ruleset";

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

let seq = 0;
function rule(action: RuleAction, cidr: string, expiresAt: number | null = null): RuleInput {
  const parsed = parseNetwork(cidr);
  if (!parsed.ok) throw new Error(`bad test rule ${cidr}: ${parsed.message}`);
  seq++;
  return { id: `ipr_${seq}`, action, cidr: parsed.value.cidr, description: null, createdBy: null, createdAt: NOW, updatedAt: NOW, expiresAt };
}

describe("parseNetwork: bad input is refused with a message that says what is wrong", () => {
  it.each([
    ["10.0.0.0/33", /out of range: IPv4 allows 0-32/],
    ["2001:db8::/129", /out of range: IPv6 allows 0-128/],
    ["300.1.1.1", /not a valid IPv4 address/],
    ["::ffff:zz", /not a valid IPv6 address/],
    ["", /must not be empty/],
    ["   ", /must not be empty/],
    ["10.1.2.3/8", /^host bits set: did you mean 10\.0\.0\.0\/8\?$/],
    ["2001:db8::1/32", /^host bits set: did you mean 2001:db8::\/32\?$/],
    ["010.0.0.1", /no leading zeros/], // inet_aton would read octal 8.0.0.1
    ["1.2.3", /not a valid IPv4 address/], // inet_aton would read 1.2.0.3
    ["0x7f.0.0.1", /not a valid IPv4 address/],
    ["10.0.0.0/08", /not a prefix length/],
    ["10.0.0.0/", /not a prefix length/],
    ["10.0.0.0/-1", /not a prefix length/],
    ["10.0.0.0/8/8", /not a prefix length/],
    ["fe80::1%eth0", /zone id/],
    ["::1.2.3.4", /deprecated IPv4-compatible form; write 1\.2\.3\.4 or ::ffff:1\.2\.3\.4/],
    ["::ffff:010.0.0.1", /embeds an invalid IPv4 address/],
    ["::ffff:10.0.0.0/64", /beyond the IPv4-mapped range/],
    ["example.com", /not a valid IPv4 address/],
  ])("%j is refused", (input, message) => {
    const result = parseNetwork(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe("parseNetwork: accepted input is stored in one canonical form", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7/32"],
    ["2001:DB8:0:0::1", "2001:db8::1/128"],
    ["2001:0db8:0000::/32", "2001:db8::/32"],
    [" 10.0.0.0/8 ", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["::/0", "::/0"],
    ["::ffff:1.2.3.4", "1.2.3.4/32"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["::ffff:0a00:0000/104", "10.0.0.0/8"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221/128"],
  ])("%j → %j", (input, canonical) => {
    const result = parseNetwork(input);
    expect(result).toMatchObject({ ok: true, value: { cidr: canonical } });
  });
});

describe("parseAddress", () => {
  it("reads an IPv4-mapped IPv6 address as the IPv4 address", () => {
    const result = parseAddress("::ffff:198.51.100.7");
    expect(result.ok && result.value.kind()).toBe("ipv4");
    expect(result.ok && result.value.toString()).toBe("198.51.100.7");
  });
});

const SETS: Record<string, RuleInput[]> = {
  none: [],
  denyOnly: [rule("deny", "198.51.100.0/24"), rule("deny", "2001:db8:bad::/48")],
  allowOnly: [rule("allow", "203.0.113.0/24"), rule("allow", "2001:db8:1::/48")],
  allowV4Only: [rule("allow", "203.0.113.0/24")],
  mixed: [
    rule("allow", "10.0.0.0/8"),
    rule("deny", "10.1.0.0/16"),
    rule("allow", "10.1.2.3"),
    rule("allow", "2001:db8::/32"),
    rule("deny", "2001:db8:dead::/48"),
  ],
  everything: [rule("deny", "0.0.0.0/0"), rule("allow", "::/0")],
};

type Row = [set: string, address: string, allowed: boolean, reason: DecisionReason, matched: string | null];

const MATRIX: Row[] = [
  // No rules: everyone is allowed.
  ["none", "1.2.3.4", true, "NO_RULES_IN_EFFECT", null],
  ["none", "2001:db8::1", true, "NO_RULES_IN_EFFECT", null],
  // Deny rules only: a match blocks, anything else passes.
  ["denyOnly", "198.51.100.7", false, "DENY_RULE", "198.51.100.0/24"],
  ["denyOnly", "198.51.101.7", true, "NO_MATCHING_RULE", null],
  ["denyOnly", "2001:db8:bad::1", false, "DENY_RULE", "2001:db8:bad::/48"],
  ["denyOnly", "2001:db8:bad:ffff::1", false, "DENY_RULE", "2001:db8:bad::/48"],
  ["denyOnly", "2001:db8:bae::1", true, "NO_MATCHING_RULE", null],
  ["denyOnly", "::ffff:198.51.100.7", false, "DENY_RULE", "198.51.100.0/24"],
  ["denyOnly", "::ffff:c633:6407", false, "DENY_RULE", "198.51.100.0/24"],
  // Allow-list mode: only listed networks get in, in both families.
  ["allowOnly", "203.0.113.200", true, "ALLOW_RULE", "203.0.113.0/24"],
  ["allowOnly", "203.0.114.1", false, "NOT_IN_ALLOW_LIST", null],
  ["allowOnly", "2001:db8:1:ffff::1", true, "ALLOW_RULE", "2001:db8:1::/48"],
  ["allowOnly", "2001:db8:2::1", false, "NOT_IN_ALLOW_LIST", null],
  ["allowOnly", "::ffff:203.0.113.5", true, "ALLOW_RULE", "203.0.113.0/24"],
  ["allowV4Only", "2001:db8::1", false, "NOT_IN_ALLOW_LIST", null],
  // Mixed: deny wins, even over a more specific allow.
  ["mixed", "10.200.0.1", true, "ALLOW_RULE", "10.0.0.0/8"],
  ["mixed", "10.1.9.9", false, "DENY_RULE", "10.1.0.0/16"],
  ["mixed", "10.1.2.3", false, "DENY_RULE", "10.1.0.0/16"],
  ["mixed", "11.0.0.1", false, "NOT_IN_ALLOW_LIST", null],
  ["mixed", "2001:db8:cafe::1", true, "ALLOW_RULE", "2001:db8::/32"],
  ["mixed", "2001:db8:dead:beef::1", false, "DENY_RULE", "2001:db8:dead::/48"],
  ["mixed", "2001:db9::1", false, "NOT_IN_ALLOW_LIST", null],
  // /0 covers one family only.
  ["everything", "192.0.2.1", false, "DENY_RULE", "0.0.0.0/0"],
  ["everything", "2001:db8::1", true, "ALLOW_RULE", "::/0"],
];

describe("decision matrix: IPv4 and IPv6 addresses against allow, deny and mixed rule sets", () => {
  it.each(MATRIX)("%s: %s → allowed=%s (%s, matched %s)", (set, address, allowed, reason, matched) => {
    const decision = decide(compileRuleSet(SETS[set] ?? [], NOW), address, NOW);
    expect(decision.allowed).toBe(allowed);
    expect(decision.reason).toBe(reason);
    expect(decision.matchedRule?.cidr ?? null).toBe(matched);
  });
});

describe("decision details", () => {
  it("reports the most specific matching allow rule", () => {
    const set = compileRuleSet([rule("allow", "10.0.0.0/8"), rule("allow", "10.20.0.0/16")], NOW);
    expect(decide(set, "10.20.1.1", NOW).matchedRule?.cidr).toBe("10.20.0.0/16");
  });

  it("an unknown or unparseable client address is denied once any rule is in effect (fail closed)", () => {
    const set = compileRuleSet(SETS.denyOnly ?? [], NOW);
    expect(decide(set, null, NOW)).toMatchObject({ allowed: false, reason: "UNKNOWN_ADDRESS" });
    expect(decide(set, "not-an-ip", NOW)).toMatchObject({ allowed: false, reason: "UNKNOWN_ADDRESS" });
  });

  it("an unknown client address is allowed when the tenant has no rules", () => {
    expect(decide(compileRuleSet([], NOW), null, NOW)).toMatchObject({ allowed: true, reason: "NO_RULES_IN_EFFECT" });
  });
});

describe("expiry is decided at check time, not only when compiling", () => {
  it("a deny rule stops counting at its expiresAt (expiresAt ≤ now)", () => {
    const set = compileRuleSet([rule("deny", "198.51.100.0/24", NOW + 60_000)], NOW);
    expect(decide(set, "198.51.100.1", NOW + 59_999).allowed).toBe(false);
    expect(decide(set, "198.51.100.1", NOW + 60_000).allowed).toBe(true);
  });

  it("allow-list mode ends when the last allow rule expires", () => {
    const set = compileRuleSet([rule("allow", "203.0.113.0/24", NOW + 60_000)], NOW);
    expect(decide(set, "192.0.2.1", NOW).allowed).toBe(false);
    expect(decide(set, "192.0.2.1", NOW + 60_000)).toMatchObject({ allowed: true, reason: "NO_RULES_IN_EFFECT" });
  });

  it("an expired allow rule no longer admits its network while another allow rule is in effect", () => {
    const set = compileRuleSet([rule("allow", "203.0.113.0/24", NOW + 60_000), rule("allow", "10.0.0.0/8")], NOW);
    expect(decide(set, "203.0.113.9", NOW + 60_000)).toMatchObject({ allowed: false, reason: "NOT_IN_ALLOW_LIST" });
  });

  it("rules already expired when compiling are left out", () => {
    const set = compileRuleSet([rule("deny", "198.51.100.0/24", NOW)], NOW);
    expect(set.count).toBe(0);
    expect(decide(set, null, NOW).allowed).toBe(true);
  });
});

// Small address spaces, so random rules and addresses overlap often.
const v4 = fc
  .tuple(fc.constantFrom(10, 192), fc.constantFrom(0, 1, 168), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
  .map((o) => o.join("."));
const v6 = fc
  .tuple(fc.constantFrom("db8", "db9"), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([a, b, c]) => `2001:${a}:${b.toString(16)}::${c.toString(16)}`);
const anyAddress = fc.oneof(v4, v6, v4.map((a) => `::ffff:${a}`));
const networkOf = (address: string, prefix: number) => {
  const parsed = ipaddr.process(address);
  const max = parsed.kind() === "ipv4" ? 32 : 128;
  const len = Math.min(prefix, max);
  const net = parsed.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(`${parsed}/${len}`) : ipaddr.IPv6.networkAddressFromCIDR(`${parsed}/${len}`);
  return `${net.toString()}/${len}`;
};
const anyRule = fc
  .tuple(fc.constantFrom<RuleAction>("allow", "deny"), fc.oneof(v4, v6), fc.integer({ min: 0, max: 128 }))
  .map(([action, address, prefix]) => rule(action, networkOf(address, prefix)));

describe("properties (fast-check)", () => {
  it("normalisation is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), anyAddress), fc.integer({ min: 0, max: 128 }), (address, prefix) => {
        const first = parseNetwork(networkOf(address, prefix));
        if (!first.ok) return true; // e.g. a mapped network wider than ::ffff:0:0/96
        const again = parseNetwork(first.value.cidr);
        return again.ok && again.value.cidr === first.value.cidr;
      }),
    );
  });

  it("the indexed decision agrees with a naive scan using ipaddr.js's own match", () => {
    fc.assert(
      fc.property(fc.array(anyRule, { maxLength: 8 }), anyAddress, (rules, address) => {
        const client = ipaddr.process(address);
        const matches = (r: RuleInput) => {
          const range = ipaddr.parseCIDR(r.cidr);
          return range[0].kind() === client.kind() && client.match(range);
        };
        const denied = rules.some((r) => r.action === "deny" && matches(r));
        const allowList = rules.some((r) => r.action === "allow");
        const expected = !denied && (!allowList || rules.some((r) => r.action === "allow" && matches(r)));
        return decide(compileRuleSet(rules, NOW), address, NOW).allowed === expected;
      }),
      { numRuns: 500 },
    );
  });

  it("a remembered decision is the decision: the memo agrees with a fresh decision for every address and instant, rule expiries and a clock that steps back included", () => {
    const expiring = fc
      .tuple(anyRule, fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: null }))
      .map(([r, inMs]) => ({ ...r, expiresAt: inMs === null ? null : NOW + inMs }));
    const query = fc.tuple(fc.oneof(anyAddress, fc.constant("not an address")), fc.integer({ min: -5_000, max: 70_000 }));
    fc.assert(
      fc.property(fc.array(expiring, { maxLength: 8 }), fc.array(query, { minLength: 1, maxLength: 40 }), (rules, queries) => {
        const set = compileRuleSet(rules, NOW);
        // Mostly forward in time, as requests come; the integers also step back now and then.
        return queries.every(([address, offset]) => JSON.stringify(decide(set, address, NOW + offset)) === JSON.stringify(decideFresh(set, address, NOW + offset)));
      }),
      { numRuns: 500 },
    );
  });

  it("the network an address is looked up in is the one ipaddr.js computes from the CIDR text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), anyAddress), fc.integer({ min: 0, max: 128 }), (text, prefix) => {
        const address = ipaddr.process(text);
        const len = Math.min(prefix, address.kind() === "ipv4" ? 32 : 128);
        const parser = address.kind() === "ipv4" ? ipaddr.IPv4 : ipaddr.IPv6;
        return networkAddress(address, len).toString() === parser.networkAddressFromCIDR(`${address.toString()}/${len}`).toString();
      }),
      { numRuns: 1000 },
    );
  });
});
