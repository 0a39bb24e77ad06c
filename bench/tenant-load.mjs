// One busy tenant's changes with KV's one-write-per-key-per-second rule enforced.
//
//   npm run bench:tenant-load [-- --app DIR] [--quick] [--concurrency N] [--no-audit]
//
// Then, where the code has a tenant object and unless --no-audit, bench/audit-load.mjs's
// product audit events on a fresh copy.
//
// Runs the app in DIR (default: this checkout) as `npm start` does, from a copy, but with a
// bench-only Worker entry (index.generated.ts beside bench/kv-limit/limit.ts, written into the copy) that
// re-exports Gatehouse's worker, GatehouseService and, where the code has one, TenantObject,
// each handed an env whose SESSION_CACHE refuses a second write of a key within a second, as
// production does (bench/kv-limit/limit.ts); where there is an object, the entry also answers
// bench/audit-load.mjs's `/__bench/record-audit` and `/__bench/object-size`. Then, for one tenant of many signed-in members,
// it drives a mix of sign-outs, session revocations and profile changes from many sessions
// at once, and meanwhile measures how long a revoked session's fresh snapshot is still
// accepted at the same location. Its figures go into bench/results/latest.json under
// `tenantLoad.<commit>` and into latest.md's tenant-load section; `npm run bench` runs it
// on its own copy of the app too. Run with --app on another checkout (an older commit), it
// records that commit's figures beside this one's: the same script measures both sides.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { renewSnapshot } from "./client.mjs";
import { median } from "./load.mjs";
import { seedWith } from "./seed.mjs";
import { startServer, stopAllOnSignals } from "./server.mjs";
import { snapshotApp } from "./snapshot.mjs";

export const TENANT_LOAD_CONFIG = {
  full: { members: 600, sparePerMember: 3, probes: 3, probeVictims: 15, concurrency: 10, seconds: 30 },
  quick: { members: 200, sparePerMember: 3, probes: 2, probeVictims: 8, concurrency: 10, seconds: 10 },
};

const TENANT = "ten_load";
const EDGE_KEY = `tenant-edge:${TENANT}`; // tenantEdgeKey in src/edge-document/document.ts
const KV_SPACING_MS = 1000;
const POLL_MS = 20; // the staleness probe's poll interval
const FLAP_WATCH_MS = 1500; // after a refusal, how long the probe checks it holds
const PROBE_GIVE_UP_MS = 10_000;
const TIMEOUT_MS = 30_000;
const HOUR = 3_600_000;
const UA = "Mozilla/5.0 (bench tenant-load)";
const ENTRY = "bench/kv-limit/index.generated.ts";

const sh = (cwd, args) => spawnSync("git", ["-C", cwd, ...args], { encoding: "utf8" }).stdout?.trim() ?? "";

/** A session as src/sessions/token.ts makes one: `<id>.<secret>`, D1 keeping SHA-256 hex of the secret. */
export function session(id) {
  const secret = createHash("sha256").update(`gatehouse-tenant-load-${id}`).digest("base64url");
  return { id, cookie: `__Host-gatehouse_session=${id}.${secret}`, hash: createHash("sha256").update(secret).digest("hex") };
}

/**
 * The tenant: `members` members, each with a main session (holding a REVOKE_SESSION
 * step-up grant, as after a recent confirmation) and `sparePerMember` more sessions to be
 * signed out or revoked; and `probes` probe members, each with `probeVictims` sessions its
 * staleness probe revokes one by one (one member per probe: a change rewrites the KV entries
 * of all its user's sessions, so two probes of one user would meet on KV's rule). Straight
 * into D1, like bench/seed.mjs.
 */
function tenantSql({ members, sparePerMember, probes: probeCount, probeVictims }, now) {
  const users = [];
  const sessions = [];
  const grants = [];
  const people = [];
  const add = (userId, spareCount) => {
    users.push(`('${userId}', '${TENANT}', '${userId.slice(4)}@load.test', 'Member ${userId.slice(4)}', 'member', 'unusable', 1, ${now})`);
    const main = session(`sl${userId.slice(4)}main`);
    const spares = Array.from({ length: spareCount }, (_, k) => session(`sl${userId.slice(4)}s${String(k).padStart(4, "0")}`));
    for (const s of [main, ...spares]) sessions.push(`('${s.id}', '${TENANT}', '${userId}', '${s.hash}', 1, ${now}, ${now}, ${now + 20 * HOUR}, '203.0.113.9', '${UA}')`);
    grants.push(`('stl${userId.slice(4)}', '${TENANT}', '${userId}', '${main.id}', 'REVOKE_SESSION', 'password', ${now}, ${now}, ${now + 2 * HOUR}, NULL)`);
    return { userId, main, spares };
  };
  for (let m = 1; m <= members; m++) people.push(add(`usr_l${String(m).padStart(4, "0")}`, sparePerMember));
  const probes = Array.from({ length: probeCount }, (_, k) => add(`usr_lprobe${k}`, probeVictims));
  const chunks = (rows, head) => {
    const out = [];
    for (let i = 0; i < rows.length; i += 200) out.push(`${head}\n${rows.slice(i, i + 200).join(",\n")};`);
    return out;
  };
  const sql = [
    `INSERT INTO tenants (id, name, slug, created_at) VALUES ('${TENANT}', 'Load', 'load', ${now});`,
    ...chunks(users, "INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at) VALUES"),
    ...chunks(sessions, "INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, ip, user_agent) VALUES"),
    ...chunks(grants, "INSERT INTO stepup_challenges (id, tenant_id, user_id, session_id, purpose, method, created_at, verified_at, expires_at, used_at) VALUES"),
  ].join("\n");
  return { sql, people, probes };
}

/**
 * The copy of the app to run: its wrangler.toml's main replaced by the bench entry, which
 * wraps SESSION_CACHE for the request handlers, the RPC entrypoint and the tenant's object
 * (when the code has one: older commits do not).
 */
export function kvLimitedApp(from) {
  const dir = snapshotApp(from);
  if (!existsSync(join(dir, "dist/panel/index.html"))) {
    // The panel is not measured here; wrangler's [build] check only needs one built.
    if (!existsSync("dist/panel/index.html")) throw new Error("no built panel: run `npm run build:ui` first");
    cpSync("dist/panel", join(dir, "dist/panel"), { recursive: true });
  }
  mkdirSync(join(dir, "bench/kv-limit"), { recursive: true });
  cpSync(resolve("bench/kv-limit/limit.ts"), join(dir, "bench/kv-limit/limit.ts"));
  const index = readFileSync(join(dir, "src/index.ts"), "utf8");
  const hasTenantObject = /export \{ TenantObject \}/.test(index);
  writeFileSync(join(dir, ENTRY), entrySource(hasTenantObject));
  const tomlPath = join(dir, "wrangler.toml");
  const toml = readFileSync(tomlPath, "utf8");
  if (!toml.includes('main = "src/index.ts"')) throw new Error('wrangler.toml has no main = "src/index.ts"; update bench/tenant-load.mjs');
  writeFileSync(tomlPath, toml.replace('main = "src/index.ts"', `main = "${ENTRY}"`));
  return { dir, hasTenantObject };
}

function entrySource(hasTenantObject) {
  return `// Generated by bench/tenant-load.mjs: Gatehouse with KV's write rule enforced (./limit.ts).
import gatehouse, { GatehouseService as Service${hasTenantObject ? ", TenantObject as Tenant" : ""} } from "../../src/index";
import type { Bindings } from "../../src/env";
import { limitedEnv, writeReport } from "./limit";
${hasTenantObject ? 'import { createRpcApp } from "../../src/rpc/app";\nimport { recordAuditEventCall } from "../../src/rpc/calls";\n\nconst rpcApp = createRpcApp();\n' : ""}
export class GatehouseService extends Service {
  constructor(ctx: ExecutionContext, env: Bindings) {
    super(ctx, limitedEnv(env));
  }
}
${
  hasTenantObject
    ? `
export class TenantObject extends Tenant {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, limitedEnv(env));
  }

  /** Bench only: the size of the object's SQLite database, in bytes. */
  benchDatabaseSize(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /** Bench only: one statement run in the object's storage (bench/run.mjs seeds a large chain with it). */
  benchExec(statement: string): number {
    return this.ctx.storage.sql.exec(statement).rowsWritten;
  }
}
`
    : ""
}
export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/kv-writes") {
      const n = (name: string) => Number(url.searchParams.get(name));
      return Response.json(writeReport(url.searchParams.get("prefix") ?? "", n("from"), n("to")));
    }${
      hasTenantObject
        ? `
    // bench/audit-load.mjs: a product event recorded by the code GatehouseService.recordAuditEvent runs, and the object's size;
    // bench/run.mjs: a statement run in a tenant's object (seeding its chain).
    if (url.pathname === "/__bench/record-audit" && request.method === "POST") {
      return Response.json(await recordAuditEventCall({ app: rpcApp, env: limitedEnv(env), ctx }, await request.json()));
    }
    const ns = env.TENANT as unknown as DurableObjectNamespace<TenantObject>;
    const object = () => ns.get(ns.idFromName(url.searchParams.get("tenant") ?? ""));
    if (url.pathname === "/__bench/object-size") {
      return Response.json({ bytes: await object().benchDatabaseSize() });
    }
    if (url.pathname === "/__bench/object-sql" && request.method === "POST") {
      return Response.json({ rowsWritten: await object().benchExec(await request.text()) });
    }
    // The tenant's object alone, without the requests in front of it (objectCeiling below).
    if (url.pathname === "/__bench/object-told" && request.method === "POST") {
      const tenant = url.searchParams.get("tenant") ?? "";
      const calls = Array.from({ length: Number(url.searchParams.get("n")) }, () => (url.searchParams.has("control") ? object().benchDatabaseSize() : object().edgeChanged(tenant, Date.now())));
      await Promise.all(calls);
      return Response.json({ ok: true });
    }
    if (url.pathname === "/__bench/outbox-fill" && request.method === "POST") {
      const tenant = url.searchParams.get("tenant") ?? "";
      const n = Number(url.searchParams.get("n"));
      const tag = crypto.randomUUID().slice(0, 8);
      await env.DB.prepare(
        \`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO audit_outbox (id, tenant_id, actor_user_id, action, outcome, target_type, target_id, ip, user_agent, metadata, created_at)
         SELECT 'aud_bench_' || ?2 || '_' || i, ?3, 'usr_bench', 'app.bench.event', 'SUCCESS', 'note', 'note_' || i, '203.0.113.9', 'bench', '{"bench":true}', ?4 FROM n\`,
      ).bind(n, tag, tenant, Date.now()).run();
      return Response.json({ ok: true });
    }
    if (url.pathname === "/__bench/drain" && request.method === "POST") {
      return Response.json(await object().drainAudit(url.searchParams.get("tenant") ?? ""));
    }`
        : ""
    }
    return gatehouse.fetch(request, limitedEnv(env), ctx);
  },
  scheduled(controller: ScheduledController, env: Bindings, ctx: ExecutionContext) {
    return gatehouse.scheduled(controller, limitedEnv(env), ctx);
  },
};
`;
}

/** One request, timed: its status, time, JSON body (or null) and when it finished. */
export async function call(url, init = {}) {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as null
    }
    return { status: res.status, ms: performance.now() - started, body, doneAt: Date.now() };
  } catch (err) {
    return { status: 0, ms: performance.now() - started, body: { error: String(err.message ?? err) }, doneAt: Date.now() };
  }
}

const json = (cookie, body) => ({ headers: { "content-type": "application/json", cookie }, body: JSON.stringify(body) });

/** The changes: sign-outs, revocations of one's own other session, profile changes, in turn. */
function changeMaker(base, people) {
  let n = 0;
  return async () => {
    const i = n++;
    const person = people[i % people.length];
    const op = ["profile", "revoke", "signout"][i % 3];
    if (op !== "profile" && person.spares.length === 0) return null;
    if (op === "profile") return { op, ...(await call(`${base}/api/account/profile`, { method: "PATCH", ...json(person.main.cookie, { displayName: `Member ${i}` }) })) };
    const spare = person.spares.pop();
    if (op === "revoke") return { op, ...(await call(`${base}/api/security/sessions/${spare.id}/revoke`, { method: "POST", headers: { cookie: person.main.cookie } })) };
    return { op, ...(await call(`${base}/api/auth/logout`, { method: "POST", headers: { cookie: spare.cookie } })) };
  };
}

const until = (at) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/**
 * One probe: a victim session renews its snapshot (and is seen accepted with it), then is
 * revoked; the same snapshot is sent every POLL_MS until refused, then for FLAP_WATCH_MS more
 * to see the refusal hold. A spaced probe revokes a second after the renewal: the renewal may
 * have refilled the session's own KV entry, which the revocation rewrites, and KV's rule would
 * refuse that. A tight probe revokes at once, to measure what that refusal does.
 */
async function probeOnce(base, probe, victim, spaced) {
  const withSnapshot = await renewSnapshot(base, victim.cookie);
  const renewedAt = Date.now();
  const seen = await call(`${base}/api/me`, { headers: { cookie: withSnapshot } });
  if (seen.status !== 200) return { skipped: `snapshot not accepted before the revocation: ${seen.status}` };
  if (spaced) await until(renewedAt + KV_SPACING_MS + 100);
  const sentAt = Date.now();
  const revoke = await call(`${base}/api/security/sessions/${victim.id}/revoke`, { method: "POST", headers: { cookie: probe.main.cookie } });
  if (revoke.status !== 200) return { revokeStatus: revoke.status, skipped: `revocation answered ${revoke.status}` };
  const answeredAt = revoke.doneAt;
  let refusedAt = null;
  let refusedSentAt = null;
  let reaccepted = 0;
  let errors = 0;
  let polls = 0;
  for (;;) {
    const r = await call(`${base}/api/me`, { headers: { cookie: withSnapshot } });
    polls++;
    if (r.status >= 500 || r.status === 0) errors++;
    if (r.status === 401 && refusedAt === null) {
      refusedAt = r.doneAt;
      refusedSentAt = r.doneAt - r.ms;
    }
    else if (r.status === 200 && refusedAt !== null) reaccepted++;
    if (refusedAt === null && Date.now() - sentAt > PROBE_GIVE_UP_MS) break;
    if (refusedAt !== null && Date.now() - refusedAt > FLAP_WATCH_MS) break;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  return {
    spaced,
    revokeStatus: revoke.status,
    revokeDelayed: revoke.body?.propagation?.status === "delayed",
    fromSentMs: refusedAt === null ? null : refusedAt - sentAt,
    fromAnswerMs: refusedAt === null ? null : refusedAt - answeredAt,
    // The refused request's own sending: a lower bound (the refusal was in force by its answer).
    fromAnswerToSentMs: refusedSentAt === null ? null : Math.max(0, refusedSentAt - answeredAt),
    reaccepted,
    errors,
    // Its requests: the renewal, the check, the revocation and the polls.
    requests: 3 + polls,
  };
}

/**
 * The tenant's object alone, with no request in front of it: `told` changes told at once
 * (what each change's request asks of it for the edge document), then `rows` events put in
 * D1's outbox and drained into its chain (what each audited change asks of it). Timed from
 * here, on the same local runtime as the run.
 */
async function objectCeiling(origin, tenant, { told = 500, rows = 2000 } = {}) {
  const post = (path, n = "") => call(`${origin}/__bench/${path}?tenant=${tenant}&n=${n}`, { method: "POST" });
  // Control: as many calls that only read the database's size (the call itself, no storage write).
  const control = await post("object-told", `${told}&control`);
  const tell = await post("object-told", told);
  const fill = await post("outbox-fill", rows);
  const drain = await post("drain");
  if (control.status !== 200 || tell.status !== 200 || fill.status !== 200 || drain.status !== 200) return { failed: `object-told ${control.status}/${tell.status}, outbox-fill ${fill.status}, drain ${drain.status}` };
  return { told, toldPerSecond: told / (tell.ms / 1000), controlPerSecond: told / (control.ms / 1000), rows, drained: drain.body.appended, drainedPerSecond: drain.body.appended / (drain.ms / 1000) };
}

/** The server's CPU over a run of `seconds` that sent `requests`. */
const cpuOf = (cpuSeconds, seconds, requests) => ({ seconds: cpuSeconds, coresBusy: cpuSeconds / seconds, requests, msPerRequest: (cpuSeconds * 1000) / Math.max(1, requests) });

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

function summarise(results, seconds) {
  const ok = results.filter((r) => r.status === 200);
  const times = ok.map((r) => r.ms);
  const byOp = Object.fromEntries(
    ["signout", "revoke", "profile"].map((op) => {
      const mine = results.filter((r) => r.op === op);
      const good = mine.filter((r) => r.status === 200).map((r) => r.ms);
      const delayed = mine.filter((r) => r.body?.propagation?.status === "delayed").length;
      return [op, { sent: mine.length, ok: good.length, delayed, p50: pct(good, 50), p99: pct(good, 99), max: good.length ? Math.max(...good) : null }];
    }),
  );
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    sent: results.length,
    ok: ok.length,
    perSecond: ok.length / seconds,
    p50: pct(times, 50),
    p99: pct(times, 99),
    max: times.length ? Math.max(...times) : null,
    status5xx: results.filter((r) => r.status >= 500 || r.status === 0).length,
    statuses,
    delayed: results.filter((r) => r.body?.propagation?.status === "delayed").length,
    // The codes of the 5xx answers (the error catalogue's), or the client's own error.
    errors5xx: results.filter((r) => r.status >= 500 || r.status === 0).reduce((acc, r) => {
      const code = r.body?.error ?? `status ${r.status}`;
      acc[code] = (acc[code] ?? 0) + 1;
      return acc;
    }, {}),
    byOp,
  };
}

function stalenessOf(probes) {
  const measured = probes.filter((p) => p.fromSentMs != null);
  const fromSent = measured.map((p) => p.fromSentMs);
  const fromAnswer = measured.map((p) => p.fromAnswerMs);
  const spread = (xs) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: xs.length ? Math.max(...xs) : null });
  return {
    probes: probes.length,
    measured: measured.length,
    skipped: probes.filter((p) => p.skipped).map((p) => p.skipped),
    neverRefused: probes.filter((p) => !p.skipped && p.fromSentMs == null).length,
    fromSent: spread(fromSent),
    fromAnswer: spread(fromAnswer),
    fromAnswerLowerBound: spread(measured.map((p) => p.fromAnswerToSentMs)),
    reacceptedProbes: measured.filter((p) => p.reaccepted > 0).length,
    reacceptedRequests: measured.reduce((a, p) => a + p.reaccepted, 0),
    revokeDelayed: probes.filter((p) => p.revokeDelayed).length,
    errors: probes.reduce((a, p) => a + (p.errors ?? 0), 0),
  };
}

/** Seeds the tenant, starts the KV-limited copy of the app in `from`, drives the load; returns the figures. */
export async function tenantLoad({ from = ".", quick = false, log = console.log, commit = sh(from, ["rev-parse", "--short", "HEAD"]), concurrency } = {}) {
  const sized = quick ? TENANT_LOAD_CONFIG.quick : TENANT_LOAD_CONFIG.full;
  const cfg = concurrency ? { ...sized, concurrency } : sized;
  const { dir: appDir, hasTenantObject } = kvLimitedApp(from);
  const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-tenant-load-"));
  let server = null;
  try {
    const now = Date.now();
    const { sql, people, probes: probeMembers } = tenantSql(cfg, now);
    await seedWith(appDir, stateDir, `${sql}\n`);
    log(`tenant-load: ${cfg.members} members × ${cfg.sparePerMember + 1} sessions seeded; starting ${from === "." ? "this checkout" : from} with KV's write rule enforced`);
    server = await startServer(appDir, stateDir);
    const base = server.url;
    const origin = new URL(base).origin;
    // Warm-up: each main session requested once (its KV entry refilled, as a session in use
    // has one), then a second's pause, so that no change below meets its session's refill.
    // The spare sessions stay cold, as a session signed out after a while idle is.
    const warm = [...people, ...probeMembers].map((p) => p.main);
    let warm5xx = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let s = warm.pop(); s; s = warm.pop()) {
          // A 503 is tried again (counted): at 603cb36 a reader's refill of the missing tenant document meets KV's rule.
          let me = await call(`${base}/api/me`, { headers: { cookie: s.cookie } });
          for (let retry = 0; me.status === 503 && retry < 20; retry++) {
            warm5xx++;
            await until(Date.now() + 200);
            me = await call(`${base}/api/me`, { headers: { cookie: s.cookie } });
          }
          if (me.status !== 200) throw new Error(`tenant-load: a seeded member's session was refused: ${me.status} ${JSON.stringify(me.body)}`);
        }
      }),
    );
    await until(Date.now() + KV_SPACING_MS + 100);

    const loadBefore = loadavg();
    const cpuBefore = server.cpuSeconds();
    const startedAt = Date.now();
    const endAt = startedAt + cfg.seconds * 1000;
    log(`tenant-load: ${cfg.concurrency} sessions changing at once for ${cfg.seconds} s, ${cfg.probes} staleness probes beside them (load average ${loadBefore.map((x) => x.toFixed(2)).join(" ")})`);
    const next = changeMaker(base, people);
    // One change at a time first (3 of each kind): what a change costs without the others.
    const alone = [];
    for (let k = 0; k < 9; k++) alone.push(await next());
    const changes = [];
    const worker = async () => {
      while (Date.now() < endAt) {
        const r = await next();
        if (r) changes.push(r);
      }
    };
    const probes = [];
    const prober = async (probe) => {
      for (let n = 0; Date.now() < endAt && probe.spares.length > 0; n++) {
        const spaced = n % 2 === 0;
        probes.push(await probeOnce(base, probe, probe.spares.pop(), spaced).catch((err) => ({ spaced, skipped: `probe failed: ${err.message ?? err}` })));
      }
    };
    await Promise.all([...Array.from({ length: cfg.concurrency }, worker), ...probeMembers.map(prober)]);
    const seconds = (Date.now() - startedAt) / 1000;
    const cpuSeconds = server.cpuSeconds() - cpuBefore;
    const loadAfter = loadavg();
    // The last changes' write: the tenant's object (where there is one) writes within a second or so.
    await until(Date.now() + 3000);
    const kv = await (await fetch(`${origin}/__bench/kv-writes?prefix=${encodeURIComponent(EDGE_KEY)}&from=${startedAt}&to=${Date.now()}`)).json();
    // Which post-commit step failed, as the server logged it (src/propagation.ts logs each).
    const serverLog = readFileSync(join(stateDir, "server.log"), "utf8");
    const notPropagated = {};
    for (const m of serverLog.matchAll(/"what":"([^"]+)"[^\n]*"msg":"committed change not propagated"/g)) {
      notPropagated[m[1]] = (notPropagated[m[1]] ?? 0) + 1;
    }
    // Every other error the server logged, by message.
    const serverErrors = {};
    for (const m of serverLog.matchAll(/"level":"error","msg":"([^"]+)"/g)) {
      if (m[1] !== "committed change not propagated") serverErrors[m[1]] = (serverErrors[m[1]] ?? 0) + 1;
    }
    const object = hasTenantObject ? await objectCeiling(origin, TENANT) : null;
    const doc = kv.keys.find((k) => k.key === EDGE_KEY) ?? { attempts: 0, accepted: 0, refused: 0, deletes: 0, maxAttemptsPerSecond: 0, maxAcceptedPerSecond: 0 };
    return {
      commit,
      subject: sh(from, ["log", "-1", "--format=%s"]).slice(0, 120) || sh(".", ["log", "-1", "--format=%s", commit]).slice(0, 120),
      hasTenantObject,
      date: new Date(startedAt).toISOString(),
      cores: availableParallelism(),
      object,
      config: cfg,
      loadavg: { before: loadBefore.map((x) => Number(x.toFixed(2))), after: loadAfter.map((x) => Number(x.toFixed(2))) },
      seconds,
      warmUp5xx: warm5xx,
      alone: summarise(alone.filter(Boolean), 1),
      // The local runtime's CPU in the run (workerd runs the Worker, the object, D1 and KV
      // together, mostly on one thread): cores busy, and per request of the run.
      cpu: cpuOf(cpuSeconds, seconds, alone.filter(Boolean).length + changes.length + probes.reduce((a, p) => a + (p.requests ?? 0), 0)),
      changes: summarise(changes, seconds),
      kv: { document: doc, allKeys: kv.allKeys, truncated: kv.truncated },
      notPropagated,
      serverErrors,
      staleness: stalenessOf(probes.filter((p) => p.spaced)),
      tightStaleness: stalenessOf(probes.filter((p) => !p.spaced)),
    };
  } catch (err) {
    logServerTail(stateDir, log);
    throw err;
  } finally {
    await endRun(server, stateDir, appDir);
  }
}

/** After a failed run: the last lines of the app's log, which say why. */
export function logServerTail(stateDir, log) {
  const logFile = join(stateDir, "server.log");
  if (existsSync(logFile)) log(`--- ${logFile} (last lines)\n${readFileSync(logFile, "utf8").split("\n").slice(-25).join("\n")}`);
}

/** After every run: the app stopped, its state and its copy removed. */
export async function endRun(server, stateDir, appDir) {
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(appDir, { recursive: true, force: true });
}

export const f = (n, digits = 0) => (n == null ? "–" : n.toFixed(digits));
export const met = (ok) => (ok ? "met" : "**missed**");

/** The markdown section of every side recorded so far (oldest first). */
export function tenantLoadSection(sides) {
  const list = Object.values(sides ?? {}).sort((a, b) => a.date.localeCompare(b.date));
  if (list.length === 0) return "";
  const cols = list.map((s) => `${s.commit}${s.hasTenantObject ? " (tenant object)" : " (requests write)"}, ${s.config.concurrency} at once`);
  const cell = (fn) => list.map(fn);
  const r = (label, cells, goal, verdicts) => `| ${label} | ${cells.join(" | ")} | ${goal} | ${verdicts.join(", ")} |`;
  const rows = [
    `| Figure | ${cols.join(" | ")} | Goal | Status |`,
    `| - | ${cols.map(() => "-").join(" | ")} | - | - |`,
    r("Changes a second answered 200 (sign-outs, revocations, profile changes in turn)", cell((s) => `${f(s.changes.perSecond, 1)} (${s.changes.ok} in ${f(s.seconds, 1)} s)`), "≥ 50, no 5xx", cell((s) => met(s.changes.perSecond >= 50 && s.changes.status5xx === 0))),
    r("Their p50 / p99 / max", cell((s) => `${f(s.changes.p50)} / ${f(s.changes.p99)} / ${f(s.changes.max)} ms`), "p99 < 300 ms", cell((s) => met(s.changes.p99 != null && s.changes.p99 < 300))),
    r(
      "The local runtime's CPU in the run (workerd: the Worker, the object, D1 and KV on one machine): cores busy; per request (changes and probes' requests)",
      cell((s) => (s.cpu ? `${f(s.cpu.coresBusy, 2)} of ${s.cores ?? "?"}; ${f(s.cpu.msPerRequest, 1)} ms (${s.cpu.requests} requests)` : "–")),
      "",
      cell(() => ""),
    ),
    r(
      "The tenant's object alone, after the run (no request in front of it): changes told a second (500 at once; control: calls that store nothing); outbox events drained into its chain a second (2,000)",
      cell((s) => (!s.object ? "–" : s.object.failed ? s.object.failed : `${f(s.object.toldPerSecond)} (control ${f(s.object.controlPerSecond)}); ${f(s.object.drainedPerSecond)} (${s.object.drained} rows)`)),
      "",
      cell(() => ""),
    ),
    r("One change at a time (9 before the run, 3 of each kind): p50 / max", cell((s) => (s.alone ? `${f(s.alone.p50)} / ${f(s.alone.max)} ms` : "–")), "", cell(() => "")),
    r("p99 by kind: sign-out / revocation / profile", cell((s) => `${f(s.changes.byOp.signout.p99)} / ${f(s.changes.byOp.revoke.p99)} / ${f(s.changes.byOp.profile.p99)} ms`), "", cell(() => "")),
    r(
      "5xx (or no answer), by code; every status; other errors the server logged",
      cell((s) => `${s.changes.status5xx} ${JSON.stringify(s.changes.errors5xx ?? {})}; ${JSON.stringify(s.changes.statuses)}; ${JSON.stringify(s.serverErrors ?? {})}`),
      "0",
      cell((s) => met(s.changes.status5xx === 0)),
    ),
    r(
      "Answers carrying `propagation: delayed` (sign-out / revocation / profile); the failed step, as logged",
      cell((s) => `${s.changes.delayed} of ${s.changes.ok} (${s.changes.byOp.signout.delayed} / ${s.changes.byOp.revoke.delayed} / ${s.changes.byOp.profile.delayed}); ${Object.entries(s.notPropagated ?? {}).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`),
      "",
      cell(() => ""),
    ),
    r("KV writes of the tenant document: most in any 1 s window, attempted (accepted)", cell((s) => `${s.kv.document.maxAttemptsPerSecond} (${s.kv.document.maxAcceptedPerSecond})`), "≤ 1", cell((s) => met(s.kv.document.maxAttemptsPerSecond <= 1))),
    r("KV writes of the tenant document in the run: attempted / accepted / refused / deletes", cell((s) => `${s.kv.document.attempts} / ${s.kv.document.accepted} / ${s.kv.document.refused} / ${s.kv.document.deletes}`), "", cell(() => "")),
    r(
      "KV writes of every key in the run: attempted / refused (by key prefix)",
      cell((s) => `${s.kv.allKeys.attempts} / ${s.kv.allKeys.refused} (${Object.entries(s.kv.allKeys.byPrefix ?? {}).map(([k, v]) => `${k}: ${v.attempts} / ${v.refused}`).join(", ")})`),
      "",
      cell(() => ""),
    ),
    r("Revoked session's fresh snapshot refused at the same location, after the revocation answered: p50 / p99 / max", cell((s) => `${f(s.staleness.fromAnswer.p50)} / ${f(s.staleness.fromAnswer.p99)} / ${f(s.staleness.fromAnswer.max)} ms (${s.staleness.measured} probes)`), "p99 ≤ 1,500 ms", cell((s) => met(s.staleness.fromAnswer.p99 != null && s.staleness.fromAnswer.p99 <= 1500 && s.staleness.neverRefused === 0))),
    r(
      "The same, counted to the refused request's sending (a lower bound): p50 / p99 / max",
      cell((s) => (s.staleness.fromAnswerLowerBound ? `${f(s.staleness.fromAnswerLowerBound.p50)} / ${f(s.staleness.fromAnswerLowerBound.p99)} / ${f(s.staleness.fromAnswerLowerBound.max)} ms` : "–")),
      "",
      cell(() => ""),
    ),
    r("The same, from the revocation's sending", cell((s) => `${f(s.staleness.fromSent.p50)} / ${f(s.staleness.fromSent.p99)} / ${f(s.staleness.fromSent.max)} ms`), "", cell(() => "")),
    r("Probes never refused within 10 s; refused then accepted again (requests); probe revocations answered delayed", cell((s) => `${s.staleness.neverRefused}; ${s.staleness.reacceptedProbes} (${s.staleness.reacceptedRequests}); ${s.staleness.revokeDelayed}`), "0; 0", cell((s) => met(s.staleness.neverRefused === 0 && s.staleness.reacceptedProbes === 0))),
    r(
      "Tight probes (revoked at once after the renewal, whose KV refill the revocation's write of the same key then meets): refused within 10 s; refused then accepted again; revocations answered delayed",
      cell((s) => (s.tightStaleness ? `${s.tightStaleness.measured} of ${s.tightStaleness.probes}; ${s.tightStaleness.reacceptedProbes} (${s.tightStaleness.reacceptedRequests} requests); ${s.tightStaleness.revokeDelayed}` : "–")),
      "",
      cell(() => ""),
    ),
    r("5xx answers to the warm-up's first requests (one GET /api/me per main session, 8 at once; each tried again)", cell((s) => String(s.warmUp5xx ?? "–")), "0", cell((s) => met(!s.warmUp5xx))),
    r("Load average (1, 5, 15 min) at start → end", cell((s) => `${s.loadavg.before.join(" ")} → ${s.loadavg.after.join(" ")}`), "", cell(() => "")),
  ];
  const c = list[0].config;
  return `<!-- tenant-load:begin -->
### One busy tenant with KV's write rule enforced (\`npm run bench:tenant-load\`)

One tenant of ${c.members} members (each signed in with a main session and ${c.sparePerMember} more), sessions changing at once (as many as each column says) for ${c.seconds} s:
sign-outs, revocations of one's own other session and profile changes in turn, while ${c.probes} probes revoke a
session that holds a fresh snapshot and send that snapshot every ${POLL_MS} ms until refused (then ${FLAP_WATCH_MS} ms
more, to see the refusal hold). The app runs as \`npm start\` does, but its entry (generated by
bench/tenant-load.mjs) hands the request handlers, the RPC entrypoint and the tenant's object a
SESSION_CACHE that refuses a second put or delete of a key within 1,000 ms, as KV does in
production (bench/kv-limit/limit.ts). Each column is one commit, measured by the same script
(\`npm run bench:tenant-load -- --app <checkout>\`): ${list.map((s) => `${s.commit} on ${s.date}: "${s.subject}"`).join("; ")}.

${rows.join("\n")}
<!-- tenant-load:end -->
`;
}

/** Adds `side` to latest.json's tenantLoad (keyed by commit) and rewrites latest.md's section. */
function record(side) {
  mkdirSync("bench/results", { recursive: true });
  const jsonPath = "bench/results/latest.json";
  const results = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")) : {};
  const key = side.config.concurrency === TENANT_LOAD_CONFIG.full.concurrency ? side.commit : `${side.commit}@${side.config.concurrency}`;
  results.tenantLoad = { ...(results.tenantLoad ?? {}), [key]: side };
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + "\n");
  const mdPath = "bench/results/latest.md";
  const md = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "";
  writeFileSync(mdPath, withSection(md, tenantLoadSection(results.tenantLoad)));
}

/**
 * `md` with its section `name` (tenant-load, audit-load) replaced, or inserted before the findings it ends
 * with (bench/FINDINGS.md, refreshed from the file), or appended.
 */
export function withSection(md, section, name = "tenant-load") {
  const begin = md.indexOf(`<!-- ${name}:begin -->`);
  const endMark = `<!-- ${name}:end -->\n`;
  const end = md.indexOf(endMark);
  let rest = md;
  if (begin >= 0 && end > begin) rest = md.slice(0, begin) + md.slice(end + endMark.length);
  const findings = existsSync("bench/FINDINGS.md") ? readFileSync("bench/FINDINGS.md", "utf8") : "";
  const heading = findings.split("\n")[0];
  const at = heading ? rest.indexOf(`\n${heading}\n`) : -1;
  if (at < 0) return `${rest.trimEnd()}\n\n${section}`;
  return `${rest.slice(0, at)}\n${section}\n${findings}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf("--app");
  const from = at > 0 ? process.argv[at + 1] : ".";
  stopAllOnSignals();
  let code = 0;
  try {
    const c = process.argv.indexOf("--concurrency");
    const concurrency = c > 0 ? Number(process.argv[c + 1]) : undefined;
    if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) throw new Error("--concurrency takes a whole number above 0");
    const side = await tenantLoad({ from, quick: process.argv.includes("--quick"), concurrency });
    record(side);
    console.log(JSON.stringify({ commit: side.commit, changes: side.changes, kv: side.kv.document, staleness: side.staleness, loadavg: side.loadavg }, null, 2));
    // Product audit events into the tenant's object (bench/audit-load.mjs), where the code has one.
    if (side.hasTenantObject && !process.argv.includes("--no-audit")) {
      // In a child process: audit-load.mjs imports this module, and importing it from this
      // module's own top-level await never settles (the import waits for this module to finish).
      const args = [fileURLToPath(new URL("./audit-load.mjs", import.meta.url)), "--app", from, "--commit", side.commit, ...(process.argv.includes("--quick") ? ["--quick"] : [])];
      const child = spawnSync(process.execPath, args, { stdio: "inherit" });
      if (child.status !== 0) throw new Error(`bench/audit-load.mjs failed (exit ${child.status})`);
    }
  } catch (err) {
    console.error(err.stack ?? err);
    code = 1;
  }
  process.exit(code);
}
