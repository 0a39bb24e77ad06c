// Benchmark of the IP rule check (not a test: nothing here asserts on time).
//
//   npx node bench/ip-rules-check.mjs
//
// Bundles the pure module src/ip-rules/ruleset.ts (no Workers-only imports) with esbuild
// into a temp dir, then times, for 10 and for 1,000 rules: the decision on a parsed set,
// parsing the cached JSON, a request that reads the set from KV (parse + decide; a
// request within a second of the last read uses the isolate's parsed copy instead,
// src/edge-document/read.ts), and compiling from D1 rows (a cache miss). A naive scan with
// ipaddr.js's match over every rule is timed for comparison: the index makes the
// decision independent of the rule count; what still grows with the rules is parsing
// the cached entry (kept compact).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import ipaddr from "ipaddr.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ip-rules-bench-"));
const outfile = join(dir, "ruleset.mjs");
await build({
  stdin: { contents: 'export * from "./src/ip-rules/ruleset.ts";', resolveDir: root, loader: "ts" },
  bundle: true,
  format: "esm",
  platform: "node",
  outfile,
  logLevel: "error",
});
const { compileRuleSet, decide } = await import(pathToFileURL(outfile).href);
rmSync(dir, { recursive: true, force: true });

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

// Deterministic pseudo-random numbers, so runs are comparable.
let seed = 42;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

// A realistic mix: office /24s and /16s, single hosts, IPv6 /48 and /64 prefixes,
// mostly deny with some allow, a few expiring.
function makeRules(count) {
  const rules = [];
  const seen = new Set();
  while (rules.length < count) {
    const kind = rand(6);
    let cidr;
    if (kind === 0) cidr = `10.${rand(256)}.0.0/16`;
    else if (kind === 1) cidr = `${1 + rand(222)}.${rand(256)}.${rand(256)}.0/24`;
    else if (kind === 2) cidr = `${1 + rand(222)}.${rand(256)}.${rand(256)}.${rand(256)}/32`;
    else if (kind === 3) cidr = `2001:db8:${rand(0xffff).toString(16)}::/48`;
    else if (kind === 4) cidr = `2001:db8:${rand(0xffff).toString(16)}:${rand(0xffff).toString(16)}::/64`;
    else cidr = `172.${16 + rand(16)}.${rand(256)}.0/24`;
    const action = rand(10) === 0 ? "allow" : "deny";
    if (seen.has(`${action} ${cidr}`)) continue;
    seen.add(`${action} ${cidr}`);
    const i = rules.length;
    rules.push({ id: `ipr_${i}`, action, cidr, description: `rule ${i}`, createdBy: "usr_bench", createdAt: NOW, updatedAt: NOW, expiresAt: rand(20) === 0 ? NOW + 3_600_000 : null });
  }
  return rules;
}

function makeAddresses(count) {
  return Array.from({ length: count }, () => {
    const kind = rand(4);
    if (kind === 0) return `10.${rand(256)}.${rand(256)}.${rand(256)}`;
    if (kind === 1) return `${1 + rand(222)}.${rand(256)}.${rand(256)}.${rand(256)}`;
    if (kind === 2) return `2001:db8:${rand(0xffff).toString(16)}::${rand(0xffff).toString(16)}`;
    return `::ffff:172.${16 + rand(16)}.${rand(256)}.${rand(256)}`;
  });
}

/** Runs fn over inputs for about `ms` milliseconds; returns operations per second. */
function opsPerSecond(fn, inputs, ms = 1000) {
  for (let i = 0; i < 2000; i++) fn(inputs[i % inputs.length]); // warm up the JIT
  let ops = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 100; i++) sink += fn(inputs[(ops + i) % inputs.length]) ? 1 : 0;
    ops += 100;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink < 0) console.log(sink); // keep the work observable
  return ops / seconds;
}

function naiveAllowed(rules, address) {
  const client = ipaddr.process(address);
  const ranges = rules.filter((r) => r.expiresAt === null || r.expiresAt > NOW).map((r) => ({ action: r.action, range: ipaddr.parseCIDR(r.cidr) }));
  const hit = (r) => r.range[0].kind() === client.kind() && client.match(r.range);
  if (ranges.some((r) => r.action === "deny" && hit(r))) return false;
  return !ranges.some((r) => r.action === "allow") || ranges.some((r) => r.action === "allow" && hit(r));
}

const addresses = makeAddresses(1000);
const results = {};
for (const count of [10, 1000]) {
  const rules = makeRules(count);
  const set = compileRuleSet(rules, NOW);
  const json = JSON.stringify(set);
  results[count] = {
    decide: opsPerSecond((a) => decide(set, a, NOW).allowed, addresses),
    parseCachedJson: opsPerSecond(() => JSON.parse(json), [0], 500),
    hotRequest: opsPerSecond((a) => decide(JSON.parse(json), a, NOW).allowed, addresses, 500),
    compile: opsPerSecond(() => compileRuleSet(rules, NOW), [0], 500),
    naiveScan: opsPerSecond((a) => naiveAllowed(rules, a), addresses, 500),
    kvBytes: json.length,
    prefixLengths: set.ipv4.prefixes.length + set.ipv6.prefixes.length,
  };
}

const fmt = (n) => Math.round(n).toLocaleString("en-US").padStart(12);
console.log(`IP rule check, Node ${process.version}`);
console.log(`${"".padEnd(40)}${"10 rules".padStart(12)}${"1,000 rules".padStart(12)}   ratio (10 / 1,000)`);
for (const [key, label] of [
  ["decide", "decide on a parsed set, ops/s"],
  ["parseCachedJson", "parse cached JSON, ops/s"],
  ["hotRequest", "request reading KV (parse + decide), ops/s"],
  ["compile", "compile from rows (miss), ops/s"],
  ["naiveScan", "naive scan with match, ops/s"],
]) {
  const ratio = results[10][key] / results[1000][key];
  console.log(`${label.padEnd(40)}${fmt(results[10][key])}${fmt(results[1000][key])}   ${ratio.toFixed(2)}x`);
}
console.log(`${"KV entry size, bytes".padEnd(40)}${fmt(results[10].kvBytes)}${fmt(results[1000].kvBytes)}`);
console.log(`${"distinct prefix lengths".padEnd(40)}${fmt(results[10].prefixLengths)}${fmt(results[1000].prefixLengths)}`);
