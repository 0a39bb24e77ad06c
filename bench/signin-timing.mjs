// `npm run bench:signin-timing [-- --pairs 200]`: can sign-in timing tell a known email
// from an unknown one? Starts Gatehouse as `npm start` does (bench/server.mjs: local
// workerd, D1 and KV, throwaway state), puts both emails in the same throttle state, then
// sends interleaved pairs (known then unknown, or the other way round, at random) and
// compares them pair by pair: medians, the spread, and a sign test (in how many pairs the
// known email was slower; with no difference that is a coin flip, binomial(n, ½)).
// Each scenario's answers must be identical for both emails (status and body) before
// their timing is compared at all. Written to bench/results/signin-timing.md.
//
// Scenarios (every state the sign-in path can be in before its answer):
//   - throttled per email and address: 429, both emails over 10 attempts from each address;
//   - throttled per account: 429, both emails over 100 attempts spread over addresses,
//     each measured pair from a fresh address (so the narrow counter lets it through);
//   - not throttled, wrong password: 401, each pair from a fresh address;
//   - a disabled member, wrong password: 401 (the account is found, its password is checked).
// Timings never go into tests (workerd tests pin the equal work, test/sign-in-equal-work.test.ts).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { DEMO_PASSWORD, demoSeedSql, hashPassword } from "../scripts/demo-data.mjs";
import { machine } from "./report.mjs";
import { startServer, stopAll } from "./server.mjs";
import { snapshotApp } from "./snapshot.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const PAIRS = arg("pairs", 200);
const WARM_UP = 10; // unrecorded pairs first: JIT, connection pool, D1 pages
const TIMEOUT_MS = 10_000;
const TENANT = "ten_acme";
const WRONG = "not-the-password-1";

// Per-account ceiling: 100 per 15 minutes (src/auth/throttle.ts). Rotating over this many
// emails keeps an unthrottled scenario under it for up to 4 × 100 pairs.
const ROTATION = Math.max(1, Math.ceil(PAIRS / 90));

const log = (msg) => console.log(`[signin-timing ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const emailsFor = (scenario, n) => ({
  known: Array.from({ length: n }, (_, i) => `timing-${scenario}-${i}@acme.test`),
  unknown: Array.from({ length: n }, (_, i) => `nobody-${scenario}-${i}@acme.test`),
});
const SCENARIOS = [
  { name: "throttled per email and address (429)", key: "emailaddr", emails: emailsFor("emailaddr", 1), status: 429 },
  { name: "throttled per account (429)", key: "account", emails: emailsFor("account", 1), status: 429 },
  { name: "not throttled, wrong password (401)", key: "open", emails: emailsFor("open", ROTATION), status: 401 },
  { name: "disabled member, wrong password (401)", key: "disabled", emails: emailsFor("disabled", ROTATION), status: 401, disabled: true },
];

async function seedUsers() {
  const hash = await hashPassword(DEMO_PASSWORD);
  const now = Date.now();
  const rows = [];
  for (const s of SCENARIOS) {
    for (const email of s.emails.known) {
      const id = `usr_${email.split("@")[0].replaceAll("-", "_")}`;
      rows.push(`('${id}', '${TENANT}', '${email}', 'Timing ${s.key}', 'member', '${hash}', 1, ${now}, ${s.disabled ? now : "NULL"})`);
    }
  }
  return `INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at, disabled_at) VALUES\n${rows.join(",\n")};\n`;
}

function run(cwd, cmd, args) {
  const res = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
}

/** One sign-in attempt: its answer and the milliseconds until the whole body arrived. */
async function attempt(url, email, address) {
  const started = performance.now();
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": address },
    body: JSON.stringify({ email, password: WRONG }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

// Addresses from 10.0.0.0/8, one /16 per scenario: never a loopback or demo address.
let fresh = 0;
const freshAddress = (scenario) => `10.${scenario}.${(++fresh >> 8) & 255}.${fresh & 255}`;

/** Puts a scenario's emails in its throttle state; returns how each pair picks its address. */
async function prepare(url, scenario, index) {
  const emails = [...scenario.emails.known, ...scenario.emails.unknown];
  if (scenario.key === "emailaddr") {
    // 10 attempts per email from each of a few addresses: the next one is refused per email
    // and address. Several addresses keep each under the edge's 100 a minute.
    const pool = Array.from({ length: 8 }, () => freshAddress(index));
    for (const address of pool) for (let i = 0; i < 10; i++) for (const email of emails) await attempt(url, email, address);
    let next = 0;
    return () => pool[next++ % pool.length];
  }
  if (scenario.key === "account") {
    // 101 attempts, each from its own address: the account's ceiling (100 per 15 minutes) is passed.
    for (let i = 0; i < 101; i++) {
      const address = freshAddress(index);
      for (const email of emails) await attempt(url, email, address);
    }
  }
  return () => freshAddress(index);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p25: percentile(s, 25), median: percentile(s, 50), p75: percentile(s, 75) };
};

/** Two-sided exact sign test: P(a split at least this uneven | each side ½). */
function signTestP(k, n) {
  if (n === 0) return 1;
  const logC = (m) => {
    let s = 0;
    for (let i = 1; i <= m; i++) s += Math.log((n - m + i) / i);
    return s;
  };
  const tail = Math.min(k, n - k);
  let p = 0;
  for (let i = 0; i <= tail; i++) p += Math.exp(logC(i) - n * Math.LN2);
  return Math.min(1, 2 * p);
}

async function measureScenario(url, scenario, index) {
  const nextAddress = await prepare(url, scenario, index);
  const { known, unknown } = scenario.emails;
  const pairs = [];
  for (let i = 0; i < WARM_UP + PAIRS; i++) {
    const address = nextAddress();
    const k = known[i % known.length];
    const u = unknown[i % unknown.length];
    const knownFirst = Math.random() < 0.5;
    const first = await attempt(url, knownFirst ? k : u, address);
    const second = await attempt(url, knownFirst ? u : k, address);
    const [a, b] = knownFirst ? [first, second] : [second, first];
    if (a.status !== scenario.status || b.status !== scenario.status) throw new Error(`${scenario.name}: expected ${scenario.status}, got ${a.status} (known: ${a.body}) and ${b.status} (unknown: ${b.body})`);
    // Same answer: the same body, up to a retry-after that may differ by the second the two straddle.
    const shape = (body) => body.replace(/"retryAfterSeconds":\d+/, '"retryAfterSeconds":0');
    if (shape(a.body) !== shape(b.body)) throw new Error(`${scenario.name}: the answers differ:\n  known:   ${a.body}\n  unknown: ${b.body}`);
    if (i >= WARM_UP) pairs.push({ known: a.ms, unknown: b.ms });
  }
  const knownSlower = pairs.filter((p) => p.known > p.unknown).length;
  const unknownSlower = pairs.filter((p) => p.known < p.unknown).length;
  const knownMs = summary(pairs.map((p) => p.known));
  const unknownMs = summary(pairs.map((p) => p.unknown));
  const diff = summary(pairs.map((p) => p.known - p.unknown));
  const p = signTestP(knownSlower, knownSlower + unknownSlower);
  return { name: scenario.name, pairs: pairs.length, known: knownMs, unknown: unknownMs, diff, ratio: knownMs.median / unknownMs.median, knownSlower, unknownSlower, p };
}

const ms = (x) => x.toFixed(1);
const verdict = (r) =>
  r.p < 0.01
    ? `TELLS THEM APART: known/unknown ${r.ratio.toFixed(2)}, known slower in ${r.knownSlower} of ${r.knownSlower + r.unknownSlower} (p = ${r.p.toExponential(1)})`
    : `no difference found: known/unknown ${r.ratio.toFixed(2)}, known slower in ${r.knownSlower} of ${r.knownSlower + r.unknownSlower} (p = ${r.p.toFixed(2)})`;

function render(results, m) {
  const lines = [
    "# Sign-in timing: known email against unknown email",
    "",
    `\`npm run bench:signin-timing\`, ${PAIRS} interleaved pairs per scenario (order within a pair at random), after ${WARM_UP} unrecorded pairs.`,
    "Times in ms, client side, until the whole answer arrived; p25–p75 is the spread. The sign test counts the pairs in which",
    "the known email was slower (ties left out); p is two-sided, and below 0.01 the verdict is that timing tells them apart.",
    "",
    "| Scenario | known median (p25–p75) | unknown median (p25–p75) | known − unknown, per pair median (p25–p75) | known/unknown | known slower | p | verdict |",
    "|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.name} | ${ms(r.known.median)} (${ms(r.known.p25)}–${ms(r.known.p75)}) | ${ms(r.unknown.median)} (${ms(r.unknown.p25)}–${ms(r.unknown.p75)}) | ${ms(r.diff.median)} (${ms(r.diff.p25)}–${ms(r.diff.p75)}) | ${r.ratio.toFixed(2)} | ${r.knownSlower} of ${r.knownSlower + r.unknownSlower} | ${r.p < 0.001 ? r.p.toExponential(1) : r.p.toFixed(3)} | ${r.p < 0.01 ? "tells them apart" : "no difference found"} |`,
    ),
    "",
    `Machine: ${m.cpu}, ${m.nproc} cores, load ${m.loadavg} at the start (shared); node ${m.node}, workerd ${m.workerd}; commit ${m.commit}${m.uncommittedSrc.length ? " plus uncommitted changes in src/" : ""}; ${m.date}.`,
    "",
  ];
  return lines.join("\n");
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-signin-timing-"));
  // The deploy check refuses to serve without the panel (the bench starts it with GATEHOUSE_SKIP_UI_BUILD).
  if (!existsSync("dist/panel/index.html")) run(".", "npm", ["run", "build:ui"]);
  // A copy of the working tree: edits made while it runs do not reload the Worker mid-measurement.
  const appDir = snapshotApp();
  const cleanup = async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    rmSync(appDir, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => cleanup().then(() => process.exit(130)));
  try {
    const m = machine();
    const persist = ["--local", "--persist-to", dir];
    run(appDir, "npx", ["wrangler", "d1", "migrations", "apply", "DB", ...persist]);
    const file = join(dir, "timing-seed.sql");
    writeFileSync(file, `${await demoSeedSql()}${await seedUsers()}`);
    run(appDir, "npx", ["wrangler", "d1", "execute", "DB", ...persist, "--file", file]);
    log("seeded; starting Gatehouse");
    const server = await startServer(appDir, dir);
    const results = [];
    for (const [i, scenario] of SCENARIOS.entries()) {
      log(`${scenario.name}: ${PAIRS} pairs`);
      const r = await measureScenario(server.url, scenario, i + 1);
      log(`  known ${ms(r.known.median)} ms, unknown ${ms(r.unknown.median)} ms: ${verdict(r)}`);
      results.push(r);
    }
    const md = render(results, m);
    writeFileSync("bench/results/signin-timing.md", md);
    console.log(`\n${md}`);
  } finally {
    await cleanup();
  }
}

await main();
