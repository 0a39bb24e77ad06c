// Product audit events recorded through recordAuditEvent, into the tenant's Durable Object.
//
//   node bench/audit-load.mjs [--quick] [--app DIR] [--commit C]   (also run by `npm run bench:tenant-load` and `npm run bench`)
//
// The app runs from a copy with the same bench entry as bench/tenant-load.mjs (KV's write
// rule enforced), whose `POST /__bench/record-audit` runs the code
// GatehouseService.recordAuditEvent runs (recordAuditEventCall of src/rpc/calls.ts: the
// session re-read in D1, the event and its outbox row in one batch, the answer once the
// tenant's object has drained and linked it), without the RPC hop a product Worker's call
// adds. Two runs: callers of ONE tenant at once, then callers spread over 20 other tenants at
// once; each counts events answered `ok` a second, their p50/p99 and every 5xx, then verifies
// every tenant's chain through the API (`GET /api/audit-logs/verify` as its owner: `ok`, and
// `checked` against the events answered). Bytes per row: the one tenant's object's SQLite
// database size (`DurableObjectStorage.sql.databaseSize`, read by the bench entry's
// `/__bench/object-size`) before and after its run, divided by the rows it gained.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { seedWith } from "./seed.mjs";
import { startServer, stopAllOnSignals } from "./server.mjs";
import { call, endRun, f, kvLimitedApp, logServerTail, met, session, withSection } from "./tenant-load.mjs";

export const AUDIT_LOAD_CONFIG = {
  full: { tenants: 21, membersPerTenant: 10, oneTenantCallers: 20, manyTenantCallers: 40, seconds: 20 },
  quick: { tenants: 21, membersPerTenant: 5, oneTenantCallers: 10, manyTenantCallers: 20, seconds: 6 },
};

const TIMEOUT_MS = 30_000;
const HOUR = 3_600_000;
const UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const tenantId = (t) => `ten_aud${String(t).padStart(2, "0")}`;

/** TENANTS tenants, each an owner (for verify) and members signed in (the callers' sessions), straight into D1. */
function tenantsSql({ tenants, membersPerTenant }, now) {
  const tenantRows = [];
  const users = [];
  const sessions = [];
  const out = [];
  for (let t = 1; t <= tenants; t++) {
    const id = tenantId(t);
    tenantRows.push(`('${id}', 'Audit ${t}', 'audit-${t}', ${now})`);
    const person = (name, role) => {
      const userId = `usr_a${t}${name}`;
      users.push(`('${userId}', '${id}', '${name}.${t}@audit.test', '${name} ${t}', '${role}', 'unusable', 1, ${now})`);
      const s = session(`sa${t}${name}`);
      sessions.push(`('${s.id}', '${id}', '${userId}', '${s.hash}', 1, ${now}, ${now}, ${now + 20 * HOUR}, '203.0.113.9', '${UA}')`);
      return { userId, sessionId: s.id, cookie: s.cookie };
    };
    out.push({ tenantId: id, owner: person("owner", "owner"), members: Array.from({ length: membersPerTenant }, (_, m) => person(`m${m}`, "member")) });
  }
  const sql = [
    `INSERT INTO tenants (id, name, slug, created_at) VALUES\n${tenantRows.join(",\n")};`,
    `INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at) VALUES\n${users.join(",\n")};`,
    `INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, ip, user_agent) VALUES\n${sessions.join(",\n")};`,
  ].join("\n");
  return { sql, tenants: out };
}


/** A product event as a notes app would record one: a note's title changed, before and after. */
function event(member, n) {
  return {
    sessionId: member.sessionId,
    userId: member.userId,
    action: "app.note.updated",
    outcome: "SUCCESS",
    targetType: "note",
    targetId: `note_${n}`,
    before: { title: "Draft" },
    after: { title: `Quarterly plan ${n}` },
    metadata: { source: "bench" },
    ip: "203.0.113.9",
    userAgent: UA,
    requestId: `bench-${n}`,
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

/** `callers` callers at once for `seconds`, caller k recording as member k of tenant k mod tenants. */
async function drive(origin, tenants, callers, seconds) {
  const results = [];
  let n = 0;
  const loadBefore = loadavg();
  const startedAt = Date.now();
  const endAt = startedAt + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, k) => {
      const tenant = tenants[k % tenants.length];
      const member = tenant.members[Math.floor(k / tenants.length) % tenant.members.length];
      while (Date.now() < endAt) {
        const r = await call(`${origin}/__bench/record-audit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(event(member, n++)) });
        results.push({ ...r, tenantId: tenant.tenantId });
      }
    }),
  );
  const elapsed = (Date.now() - startedAt) / 1000;
  const ok = results.filter((r) => r.status === 200 && r.body?.ok === true);
  const times = ok.map((r) => r.ms);
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const byTenant = {};
  for (const r of ok) byTenant[r.tenantId] = (byTenant[r.tenantId] ?? 0) + 1;
  return {
    callers,
    tenants: tenants.length,
    seconds: elapsed,
    sent: results.length,
    ok: ok.length,
    perSecond: ok.length / elapsed,
    withPlace: ok.filter((r) => typeof r.body.seq === "number" && typeof r.body.hash === "string").length,
    placeUnavailable: ok.filter((r) => r.body.placeUnavailable === true).length,
    p50: pct(times, 50),
    p99: pct(times, 99),
    max: times.length ? Math.max(...times) : null,
    status5xx: results.filter((r) => r.status >= 500 || r.status === 0).length,
    errors: results.filter((r) => !(r.status === 200 && r.body?.ok === true)).reduce((acc, r) => {
      const code = r.body?.error ?? `status ${r.status}`;
      acc[code] = (acc[code] ?? 0) + 1;
      return acc;
    }, {}),
    statuses,
    byTenant,
    loadavg: { before: loadBefore.map((x) => Number(x.toFixed(2))), after: loadavg().map((x) => Number(x.toFixed(2))) },
  };
}

/** Every tenant's chain verified through the API as its owner: ok, and rows checked against the events answered. */
async function verifyAll(base, tenants, answered) {
  const out = [];
  for (const t of tenants) {
    const r = await call(`${base}/api/audit-logs/verify`, { headers: { cookie: t.owner.cookie } });
    out.push({ tenantId: t.tenantId, status: r.status, ok: r.body?.ok === true, checked: r.body?.checked ?? null, answered: answered[t.tenantId] ?? 0, firstBrokenSeq: r.body?.firstBrokenSeq ?? null });
  }
  return {
    tenants: out.length,
    allOk: out.every((v) => v.status === 200 && v.ok),
    // The chain holds exactly the events answered ok (the seeded tenants start empty).
    allCounted: out.every((v) => v.checked === v.answered),
    checked: out.reduce((a, v) => a + (v.checked ?? 0), 0),
    answered: out.reduce((a, v) => a + v.answered, 0),
    failures: out.filter((v) => !(v.status === 200 && v.ok && v.checked === v.answered)),
  };
}

const objectSize = async (origin, tenant) => (await (await fetch(`${origin}/__bench/object-size?tenant=${tenant}`, { signal: AbortSignal.timeout(TIMEOUT_MS) })).json()).bytes;

/** Seeds the tenants, starts the KV-limited copy of the app in `from`, drives both runs; returns the figures. */
export async function auditLoad({ from = ".", quick = false, log = console.log, commit } = {}) {
  const cfg = quick ? AUDIT_LOAD_CONFIG.quick : AUDIT_LOAD_CONFIG.full;
  const { dir: appDir, hasTenantObject } = kvLimitedApp(from);
  if (!hasTenantObject) throw new Error("audit-load: this checkout has no TenantObject: nothing to measure");
  const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-audit-load-"));
  let server = null;
  try {
    const { sql, tenants } = tenantsSql(cfg, Date.now());
    await seedWith(appDir, stateDir, `${sql}\n`);
    server = await startServer(appDir, stateDir);
    const base = server.url;
    const origin = new URL(base).origin;
    // Each object reached once (its tables made, its outbox empty) before anything is timed.
    const empty = await verifyAll(base, tenants, {});
    if (!empty.allOk) throw new Error(`audit-load: a fresh tenant's chain did not verify: ${JSON.stringify(empty.failures)}`);
    const [one] = tenants;
    const sizeBefore = await objectSize(origin, one.tenantId);

    log(`audit-load: ${cfg.oneTenantCallers} callers recording into one tenant for ${cfg.seconds} s (load average ${loadavg().map((x) => x.toFixed(2)).join(" ")})`);
    const oneTenant = await drive(origin, [one], cfg.oneTenantCallers, cfg.seconds);
    const oneVerify = await verifyAll(base, [one], oneTenant.byTenant);
    const sizeAfter = await objectSize(origin, one.tenantId);
    const rows = oneVerify.checked;

    const others = tenants.slice(1);
    log(`audit-load: ${cfg.manyTenantCallers} callers spread over ${others.length} tenants for ${cfg.seconds} s`);
    const manyTenants = await drive(origin, others, cfg.manyTenantCallers, cfg.seconds);
    const manyVerify = await verifyAll(base, others, manyTenants.byTenant);
    return {
      commit,
      date: new Date().toISOString(),
      quick,
      config: cfg,
      oneTenant: { ...oneTenant, verify: oneVerify },
      manyTenants: { ...manyTenants, verify: manyVerify },
      objectBytes: { before: sizeBefore, after: sizeAfter, rows, perRow: rows > 0 ? (sizeAfter - sizeBefore) / rows : null },
    };
  } catch (err) {
    logServerTail(stateDir, log);
    throw err;
  } finally {
    await endRun(server, stateDir, appDir);
  }
}

/** The markdown section of the latest audit-load run. */
export function auditLoadSection(a) {
  if (!a) return "";
  const run = (label, r) => [
    `| ${label}: events a second answered \`ok\` | ${f(r.perSecond, 1)} (${r.ok} in ${f(r.seconds, 1)} s, ${r.callers} callers) | no 5xx | ${met(r.status5xx === 0)} |`,
    `| Their p50 / p99 / max | ${f(r.p50)} / ${f(r.p99)} / ${f(r.max)} ms | | |`,
    `| Answered with seq and hash / \`placeUnavailable\` | ${r.withPlace} / ${r.placeUnavailable} | all with seq and hash | ${met(r.withPlace === r.ok)} |`,
    `| 5xx (or no answer); other refusals, by code | ${r.status5xx}; ${JSON.stringify(r.errors)} | 0 | ${met(r.status5xx === 0)} |`,
    `| Chains afterwards (\`GET /api/audit-logs/verify\` as each owner): verify / rows checked = events answered | ${r.verify.allOk ? "all verify" : `**${r.verify.failures.length} fail**`} / ${r.verify.checked} checked, ${r.verify.answered} answered (${r.verify.tenants} tenants) | ok, equal | ${met(r.verify.allOk && r.verify.allCounted)} |`,
    `| Load average (1, 5, 15 min) at start → end | ${r.loadavg.before.join(" ")} → ${r.loadavg.after.join(" ")} | | |`,
  ];
  const b = a.objectBytes;
  return `<!-- audit-load:begin -->
### Product audit events into the tenant's object (\`node bench/audit-load.mjs\`, also run by \`npm run bench:tenant-load\`)

${a.commit ?? ""} on ${a.date}${a.quick ? " (--quick)" : ""}. Callers at once, each sending one product event
(\`app.note.updated\`, a browser user agent, small before/after/metadata) and waiting for its answer, for
${a.config.seconds} s: first into one tenant, then spread over ${a.config.tenants - 1} other tenants. Each call runs the code of
\`GatehouseService.recordAuditEvent\` (through the bench entry's \`/__bench/record-audit\`, without the RPC hop), with
KV's write rule enforced as in the tenant-load run. Bytes per row: the one tenant's object's
\`sql.databaseSize\` before and after its run, over the rows it gained (the row, its id index and the object's
four audit indexes, SQLite pages as allocated).

| Figure | Measured | Goal | Status |
| - | - | - | - |
${run("One tenant", a.oneTenant).join("\n")}
${run(`${a.manyTenants.tenants} tenants at once`, a.manyTenants).join("\n")}
| Bytes per audit row in the object | ${f(b.perRow)} (${b.before} → ${b.after} bytes for ${b.rows} rows) | | |
<!-- audit-load:end -->
`;
}

/** Stores the run in latest.json's auditLoad and rewrites latest.md's section. */
export function recordAuditLoad(figures) {
  mkdirSync("bench/results", { recursive: true });
  const jsonPath = "bench/results/latest.json";
  const results = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")) : {};
  results.auditLoad = figures;
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + "\n");
  const mdPath = "bench/results/latest.md";
  const md = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "";
  writeFileSync(mdPath, withSection(md, auditLoadSection(figures), "audit-load"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  stopAllOnSignals();
  let code = 0;
  try {
    const { spawnSync } = await import("node:child_process");
    const option = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
    const from = option("--app") ?? ".";
    const commit = option("--commit") ?? spawnSync("git", ["-C", from, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim();
    const figures = await auditLoad({ from, quick: process.argv.includes("--quick"), commit });
    recordAuditLoad(figures);
    console.log(auditLoadSection(figures));
  } catch (err) {
    console.error(err.stack ?? err);
    code = 1;
  }
  process.exit(code);
}
