// `npm run bench [-- --quick]`: the speed and size figures, as one table, printed and
// written to bench/results/latest.md (raw numbers in bench/results/latest.json).
//
// Copies of the app run side by side on loopback, each `npm start` on its own throwaway
// state: one seeded small, one large; next to them the reference Worker (bench/reference:
// the floor cost of local KV and D1) and a bare pass-through Worker in front of the demo
// product (bench/passthrough). The edge check is measured against /api/health in the same process, in
// rounds alternating with the reference's routes and with the product's pages, through
// Gatehouse (gateway mode, the small copy) and through the pass-through; the latency of the pages whose tables
// grow on the small and the large copy in alternating rounds, so that noise hits both. Last,
// one busy tenant's changes with KV's write rule enforced (bench/tenant-load.mjs), and product
// audit events recorded into tenants' objects (bench/audit-load.mjs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditUnderConcurrency } from "./audit-concurrency.mjs";
import { getOk, renewSnapshot, signIn } from "./client.mjs";
import { interleaved, measure } from "./load.mjs";
import { profileWhile } from "./profile.mjs";
import { machine, renderMarkdown } from "./report.mjs";
import { auditSeedSql, seedState } from "./seed.mjs";
import { gatewayTargets } from "./gateway.mjs";
import { startPassthrough, startReference, startServer, stopAll } from "./server.mjs";
import { snapshotApp } from "./snapshot.mjs";
import { kvLimitedApp, tenantLoad } from "./tenant-load.mjs";
import { auditLoad } from "./audit-load.mjs";
import { panelJsGzip, workerGzip } from "./sizes.mjs";
import { workerdFigures } from "./workerd-figures.mjs";

const quick = process.argv.includes("--quick");
const CONFIG = quick
  ? {
      small: { sessions: 1_000, auditRows: 10_000, ipRules: 50, bobSessions: 1_000 },
      large: { sessions: 10_000, auditRows: 100_000, auditIn: "object", ipRules: 50 },
      throughput: { rounds: 2, seconds: 3, connections: 10, maxRequests: 50_000 },
      latency: { rounds: 2, seconds: 2, connections: 1, maxRequests: 2_000 },
    }
  : {
      small: { sessions: 1_000, auditRows: 10_000, ipRules: 50, bobSessions: 1_000 },
      large: { sessions: 100_000, auditRows: 1_000_000, auditIn: "object", ipRules: 50 },
      throughput: { rounds: 4, seconds: 6, connections: 10, maxRequests: 100_000 },
      latency: { rounds: 3, seconds: 4, connections: 1, maxRequests: 5_000 },
    };

// `node bench/run.mjs --render`: rewrite latest.md from latest.json (after editing FINDINGS.md).
if (process.argv.includes("--render")) {
  writeFileSync("bench/results/latest.md", renderMarkdown(JSON.parse(readFileSync("bench/results/latest.json", "utf8"))));
  process.exit(0);
}

const OVERALL_LIMIT_MS = 25 * 60_000;
const IMPORT_TIMEOUT_MS = 10 * 60_000; // the small copy's legacy audit rows into the tenant's object
const SEED_CHUNK_ROWS = 100_000; // audit rows per statement run in the object
const ACME = "ten_acme";

const log = (msg) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const stateDirs = [];

async function cleanup() {
  await stopAll();
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}
const watchdog = setTimeout(async () => {
  console.error(`bench: over ${OVERALL_LIMIT_MS / 60_000} minutes; stopping everything.`);
  await cleanup();
  process.exit(1);
}, OVERALL_LIMIT_MS);

/**
 * Alice's tenant's `rows` audit rows written straight into its object's chain (as D1 takes
 * its bulk rows), for a size whose rows are `auditIn: "object"`: a million rows imported by the
 * object's first drain takes ~15 minutes locally (about 1,300 rows a second, measured on the
 * small copy, whose rows are imported), past the run's limit. Run by the bench entry
 * bench/tenant-load.mjs generates (its `/__bench/object-sql`), on the same state, then stopped.
 */
async function seedChainInObject(appDir, persistTo, rows, seededAt) {
  const { dir } = kvLimitedApp(appDir);
  stateDirs.push(dir);
  const server = await startServer(dir, persistTo);
  try {
    for (let from = 1; from <= rows; from += SEED_CHUNK_ROWS) {
      const to = Math.min(rows, from + SEED_CHUNK_ROWS - 1);
      const res = await fetch(`${new URL(server.url).origin}/__bench/object-sql?tenant=${ACME}`, { method: "POST", body: auditSeedSql(from, to, rows, seededAt), signal: AbortSignal.timeout(IMPORT_TIMEOUT_MS) });
      const { rowsWritten } = await res.json();
      if (res.status !== 200 || !(rowsWritten >= to - from + 1)) throw new Error(`seeding the object's chain (rows ${from}-${to}) answered ${res.status}, ${rowsWritten} rows written`);
    }
  } finally {
    await server.stop();
  }
}

/** Seeds fresh state of one size, starts the app on it, signs alice (owner) in. */
async function startSized(appDir, label, size) {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${label}-`));
  stateDirs.push(dir);
  const { seconds: d1Seconds, cookies: bobCookies, seededAt } = await seedState(appDir, dir, size);
  const objectStarted = performance.now();
  if (size.auditIn === "object") await seedChainInObject(appDir, dir, size.auditRows, seededAt);
  const seedSeconds = d1Seconds + (performance.now() - objectStarted) / 1000;
  log(`${label}: seeded ${size.sessions} sessions, ${size.auditRows} audit rows, ${size.ipRules} IP rules in ${seedSeconds.toFixed(1)} s; starting`);
  const server = await startServer(appDir, dir);
  // Alice's sign-in is the tenant's first audit write: its object's first drain, which imports
  // the seeded rows, starts with it and holds the local runtime (Worker, object and D1 in one
  // workerd) busy meanwhile, so this first answer may wait on it.
  const importStarted = performance.now();
  const cookie = await signIn(server.url, "alice@acme.test", { timeoutMs: IMPORT_TIMEOUT_MS });
  // Seeded into D1's audit_logs (where the chain lived before it moved into the tenant's
  // object), the audit rows are imported by the object's first drain
  // (src/tenant-object/audit-drain.ts), which the first audit read waits for; seeded into the
  // object, that read drains nothing. Timed from the sign-in (whose audit write starts that
  // drain, in its waitUntil) to that read's answer, apart, so that no measured read waits.
  const first = await fetch(`${server.url}/api/audit-logs?limit=1`, { headers: { cookie }, signal: AbortSignal.timeout(IMPORT_TIMEOUT_MS) });
  if (first.status !== 200) throw new Error(`${label}: the first audit read (the import of ${size.auditRows} rows) answered ${first.status} ${await first.text()}`);
  await first.arrayBuffer();
  const importSeconds = (performance.now() - importStarted) / 1000;
  log(`${label}: signed in and read the first audit page (the object's first drain: ${size.auditIn === "object" ? "nothing to import" : `${size.auditRows} rows imported`}) in ${importSeconds.toFixed(1)} s`);
  // Every measured page must answer 200 with real content before we time it.
  const me = await getOk(server.url, "/api/me", cookie);
  const sessions = await getOk(server.url, "/api/security/sessions", cookie);
  const audit = await getOk(server.url, "/api/audit-logs", cookie);
  if (me.user.id !== "usr_alice" || sessions.sessions.length < 20 || audit.items.length !== 50) {
    throw new Error(`${label}: unexpected pages (${sessions.sessions.length} sessions, ${audit.items.length} audit rows)`);
  }
  return { ...server, cookie, bobCookies, seedSeconds, seededAt, importSeconds };
}

async function main() {
  const started = Date.now();
  const results = { quick, config: CONFIG, machine: machine(), started: new Date().toISOString() };

  log("sizes: building the panel and bundling the worker");
  results.sizes = { panel: panelJsGzip(), worker: workerGzip() };

  const appDir = snapshotApp(); // right after the panel build, with machine() naming the code
  stateDirs.push(appDir);

  log("in workerd: counting work per hot request, timing sign-in, checking query plans");
  results.workerd = await workerdFigures({ quick, cwd: appDir });

  const small = await startSized(appDir, "small", CONFIG.small);
  const large = await startSized(appDir, "large", CONFIG.large);
  results.seedSeconds = { small: small.seedSeconds, large: large.seedSeconds };
  results.auditImportSeconds = { small: small.importSeconds, large: large.importSeconds };
  const refDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-reference-"));
  stateDirs.push(refDir);
  const ref = await startReference(refDir);
  const ptDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-passthrough-"));
  stateDirs.push(ptDir);
  const passthrough = await startPassthrough(appDir, ptDir);
  const ptAssetsDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-passthrough-assets-"));
  stateDirs.push(ptAssetsDir);
  const passthroughAssets = await startPassthrough(appDir, ptAssetsDir, { assets: true });

  const t = CONFIG.throughput;
  log(`edge check: /api/health vs /api/me, the reference Worker's floor costs, the product through Gatehouse and through a bare pass-through, ${t.rounds} rounds × ${t.seconds} s, ${t.connections} connections`);
  const on = (server, path, cookie) => ({ url: `${server.url}${path}`, cookie, cpuSeconds: server.cpuSeconds });
  const product = await gatewayTargets(small, passthrough, small.cookie, on);
  const withAssets = await gatewayTargets(small, passthroughAssets, small.cookie, on);
  // Alice's cookie carries her session snapshot, trusted 5 minutes after its state was read:
  // renewed before each run that sends it, as a browser's is by the answers it gets.
  const renewAlice = (target) => async () => {
    small.cookie = await renewSnapshot(small.url, small.cookie);
    target.cookie = small.cookie;
  };
  for (const name of ["gwHome", "gwApp"]) product[name].before = renewAlice(product[name]);
  // Before each run over bob's sessions, request every one of them once, unmeasured, so KV
  // holds each entry (a miss reads D1 once and refills KV): the run is hot, like the others.
  const warmBob = (server) => async () => {
    for (const cookie of server.bobCookies) await getOk(server.url, "/api/me", cookie);
  };
  // The same sessions as browsers hold them: each with the snapshot its warm-up answer set.
  // A renewal refreshes a session's last_seen_at only when its 2-minute refresh is due, so
  // 1,000 sessions renewed in one go would fall due together, inside a later run: up to a
  // quarter of its requests would refresh (two D1 statements, a KV write, a snapshot sealed),
  // where real sessions, spread out, refresh about 1% of requests (bench/FINDINGS.md, section
  // 1). So the sessions are renewed once every one of them is due (every renewal refreshes
  // them all: the seed spreads their last_seen_at over the 120 s before it) and reused while
  // none can fall due before a run ends; this waits for the refresh interval, not for load.
  const REFRESH_MS = 120_000; // LAST_SEEN_REFRESH_SECONDS in src/sessions/config.ts
  const REUSE_MS = REFRESH_MS - 15_000; // a warm-up and run (7 s) started before this end before any is due
  const bobWithSnapshots = [...small.bobCookies];
  let bobRenewedAt = null;
  const warmBobSnapshots = async () => {
    if (bobRenewedAt !== null && Date.now() - bobRenewedAt < REUSE_MS) return;
    const due = (bobRenewedAt ?? small.seededAt) + REFRESH_MS + 1000 - Date.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    bobRenewedAt = Date.now();
    for (let i = 0; i < small.bobCookies.length; i++) bobWithSnapshots[i] = await renewSnapshot(small.url, small.bobCookies[i]);
  };
  const me = on(small, "/api/me", small.cookie);
  me.before = renewAlice(me);
  results.edge = await interleaved(
    {
      health: on(small, "/api/health"),
      me,
      meMany: { ...on(small, "/api/me"), cookies: bobWithSnapshots, before: warmBobSnapshots },
      meManyKv: { ...on(small, "/api/me"), cookies: small.bobCookies, before: warmBob(small) },
      bare: on(ref, "/bare"),
      kv1: on(ref, "/kv1"),
      kv2: on(ref, "/kv2"),
      d1: on(ref, "/d1"),
      ...product,
      ptHomeAssets: withAssets.ptHome,
      ptAppAssets: withAssets.ptApp,
      gwAppMany: { ...product.gwApp, cookie: undefined, cookies: bobWithSnapshots, before: warmBobSnapshots },
    },
    t.rounds,
    t,
  );
  await ref.stop();
  await passthrough.stop();
  await passthroughAssets.stop();

  log("profile: V8 sampling of the Worker's isolate under the same load");
  const profile = (server, path, cookie) =>
    profileWhile(server.pgid, "gatehouse", () => measure(`${server.url}${path}`, { ...t, cookie, cpuSeconds: server.cpuSeconds, warmUp: false }));
  try {
    small.cookie = await renewSnapshot(small.url, small.cookie);
    product.gwApp.cookie = small.cookie;
    results.profile = {
      health: await profile(small, "/api/health"),
      me: await profile(small, "/api/me", small.cookie),
    };
    // The product page through Gatehouse: the same profiler, Gatehouse's isolate only.
    const gw = product.gwApp;
    results.profile.gwApp = await profileWhile(small.pgid, "gatehouse", () => measure(gw.url, { ...t, cookie: gw.cookie, cpuSeconds: gw.cpuSeconds, warmUp: false }));
  } catch (err) {
    // The profile explains the figures; it is not one of them. Its absence is reported.
    results.profile = { error: String(err.message ?? err) };
  }

  const l = CONFIG.latency;
  log(`growth: small vs large, ${l.rounds} rounds × ${l.seconds} s per page, ${l.connections} connection`);
  const pages = { health: "/api/health", sessions: "/api/security/sessions", audit: "/api/audit-logs", auditByAction: "/api/audit-logs?action=LOGIN_FAILED" };
  const targets = {};
  for (const [name, path] of Object.entries(pages)) {
    for (const [label, s] of Object.entries({ small, large })) {
      const target = on(s, path, s.cookie);
      target.before = async () => {
        s.cookie = await renewSnapshot(s.url, s.cookie);
        target.cookie = s.cookie;
      };
      targets[`${name}@${label}`] = target;
    }
  }
  results.growth = await interleaved(targets, l.rounds, l);

  log("audit rows under concurrency: parallel refused requests on the small copy, rows counted, chain verified");
  results.auditConcurrency = await auditUnderConcurrency(small.url);
  await small.stop();
  await large.stop();

  // Other commits' figures (`npm run bench:tenant-load -- --app <checkout>`) are kept beside this one's.
  const earlier = existsSync("bench/results/latest.json") ? (JSON.parse(readFileSync("bench/results/latest.json", "utf8")).tenantLoad ?? {}) : {};
  const side = await tenantLoad({ from: appDir, quick, log, commit: results.machine.commit });
  results.tenantLoad = { ...earlier, [side.commit]: side };
  log("product audit events into the tenant's object: one tenant, then 20 at once");
  results.auditLoad = await auditLoad({ from: appDir, quick, log, commit: results.machine.commit });

  results.seconds = (Date.now() - started) / 1000;
  const markdown = renderMarkdown(results);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(results, null, 2) + "\n");
  writeFileSync("bench/results/latest.md", markdown);
  console.log(`\n${markdown}`);
  log(`done in ${results.seconds.toFixed(0)} s; written to bench/results/latest.md`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  console.error(`\nbench failed: ${err.stack ?? err}${err.cause ? `\ncause: ${err.cause.stack ?? err.cause}` : ""}`);
  // The servers' own logs go with their state directories; show their ends first.
  for (const dir of stateDirs) {
    const file = join(dir, "server.log");
    if (existsSync(file)) console.error(`\n--- ${file} (last lines)\n${readFileSync(file, "utf8").split("\n").slice(-15).join("\n")}`);
  }
  exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
process.exit(exitCode);
