// The one table: every figure with its goal, side by side, ratios printed.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { WORKER_GZIP_BUDGET_BYTES } from "../scripts/bundle-size.mjs";
import { median } from "./load.mjs";
import { tenantLoadSection } from "./tenant-load.mjs";
import { auditLoadSection } from "./audit-load.mjs";

// trimEnd only: `git status --porcelain` lines start with a meaningful space.
const sh = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8" }).stdout?.trimEnd() ?? "";
const version = (pkg) => JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, "utf8")).version;

/** What the numbers were measured on, and on which code (the checkout is shared). */
export function machine() {
  return {
    date: new Date().toISOString(),
    nproc: sh("nproc", []),
    cpu: cpus()[0]?.model ?? "unknown",
    memory: sh("free", ["-h"]).split("\n").find((l) => l.startsWith("Mem:"))?.replace(/\s+/g, " ") ?? "",
    loadavg: loadavg().map((x) => x.toFixed(2)).join(" "),
    node: process.version,
    workerd: version("workerd"),
    wrangler: version("wrangler"),
    autocannon: version("autocannon"),
    commit: sh("git", ["rev-parse", "--short", "HEAD"]),
    // Benchmarks run the working tree; say so when src/ differs from the commit.
    uncommittedSrc: sh("git", ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"]).split("\n").filter(Boolean),
  };
}

const int = (n) => Math.round(n).toLocaleString("en-US");
const ms = (n) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
const x = (r) => `${r.toFixed(2)}x`;
const verdict = (ok) => (ok ? "met" : "**missed**");
/**
 * B / A per round (the two ran within the same round, close in time), then the median
 * over rounds, with the range: what noise on a shared machine does to the ratio shows.
 */
function pairRatio(a, b, key) {
  const rs = a.rounds.map((ra, i) => b.rounds[i][key] / ra[key]);
  return { median: median(rs), text: `${x(median(rs))} (${rs.length} rounds: ${x(Math.min(...rs))}–${x(Math.max(...rs))})` };
}
const kvVerdict = (a, b) => (a === b ? verdict(a) : `A ${verdict(a)}, B ${verdict(b)}`);
const row = (cells) => `| ${cells.join(" | ")} |`;

/** Gateway mode against a bare pass-through in front of the same product, and its counted work (absent from older results). */
function gatewayRows(r) {
  const { edge, config, workerd: w } = r;
  const rows = [];
  const tp = config.throughput;
  if (edge.gwHome && edge.ptHome && edge.gwApp && edge.ptApp) {
    const pair = (a, b, what) => {
      const rps = pairRatio(edge[a], edge[b], "rps");
      const cpu = pairRatio(edge[a], edge[b], "cpuMs");
      return row([
        "7",
        `Gateway mode against a bare pass-through Worker (bench/passthrough) in front of the same demo product, same rounds and load as row 1, alice's session cookie on every request: ${what}`,
        `${int(edge[a].rps)} req/s (${ms(edge[a].cpuMs)})`,
        `${int(edge[b].rps)} req/s (${ms(edge[b].cpuMs)})`,
        `req/s ${rps.text}; CPU ${cpu.text}`,
        "≥ 0.80x (req/s)",
        verdict(rps.median >= 0.8),
      ]);
    };
    if (edge.gwAppMany) {
      rows.push(
        pair(
          "ptApp",
          "gwAppMany",
          `A = GET /app through the pass-through (as below), B = GET /app through Gatehouse over ${int(config.small.bobSessions)} distinct sessions of the tenant in turn, each with its snapshot cookie`,
        ),
      );
    }
    rows.push(
      pair("ptHome", "gwHome", "A = GET / (the public landing page) through the pass-through, B = GET / through Gatehouse (edge check, assertion attached; the product does the same work in both)"),
      pair(
        "ptApp",
        "gwApp",
        "A = GET /app through the pass-through, sent with an assertion of the same claims signed by the pass-through's key, B = GET /app through Gatehouse (the product verifies the assertion and greets the user in both)",
      ),
      row(["7", "… latency p50 / p99 under that load, GET /app", `${ms(edge.ptApp.p50)} / ${ms(edge.ptApp.p99)}`, `${ms(edge.gwApp.p50)} / ${ms(edge.gwApp.p99)}`, x(edge.gwApp.p50 / edge.ptApp.p50), "", ""]),
    );
    // The same pass-through given Gatehouse's static-assets routing ([assets] with
    // run_worker_first): what the platform's asset router adds to every request of any Worker
    // that serves assets, which a bare pass-through does not pay (bench/FINDINGS.md, section 7).
    const reference = (a, b, what) => {
      const rps = pairRatio(edge[a], edge[b], "rps");
      const cpu = pairRatio(edge[a], edge[b], "cpuMs");
      return row([
        "7",
        `reference: the same pass-through with Gatehouse's static-assets routing (bench/passthrough/wrangler.toml plus the [assets] section of Gatehouse's wrangler.toml, run_worker_first): ${what}`,
        `${int(edge[a].rps)} req/s (${ms(edge[a].cpuMs)})`,
        `${int(edge[b].rps)} req/s (${ms(edge[b].cpuMs)})`,
        `req/s ${rps.text}; CPU ${cpu.text}`,
        "",
        "",
      ]);
    };
    if (edge.ptHomeAssets && edge.ptAppAssets) {
      rows.push(
        reference("ptHomeAssets", "gwHome", "A = GET / through it, B = GET / through Gatehouse"),
        reference("ptAppAssets", "gwApp", "A = GET /app through it (its own assertion, as above), B = GET /app through Gatehouse"),
      );
    }
  }
  const hot = w.hotProduct;
  if (hot) {
    const reuse = (c) => (c.assertionReused ? "assertion reused" : "assertion signed anew");
    rows.push(
      row([
        "7",
        `D1 queries per hot GET ${hot.path} through the gateway (a signed-in member, ${config.small.ipRules} IP rules, product stubbed), counted: A = right after the session's previous request, B = 2 s later`,
        String(hot.immediate.d1Queries),
        String(hot.after2s.d1Queries),
        "",
        "0",
        verdict(hot.immediate.d1Queries === 0 && hot.after2s.d1Queries === 0),
      ]),
      row([
        "7",
        `KV reads per hot GET ${hot.path} through the gateway, counted (A: ${hot.immediate.kvKeys.join(", ") || "none"}, ${reuse(hot.immediate)}; B: ${hot.after2s.kvKeys.join(", ") || "none"}, ${reuse(hot.after2s)})`,
        String(hot.immediate.kvReads),
        String(hot.after2s.kvReads),
        "",
        "≤ 1",
        kvVerdict(hot.immediate.kvReads <= 1, hot.after2s.kvReads <= 1),
      ]),
    );
  }
  return rows;
}

/** KV reads and keys per minute for N active users at one location (one isolate), counted in workerd (absent from older results). */
function kvPerMinuteRows(figures) {
  if (!figures) return [];
  return figures.map((f) => {
    const a = f.sessionCookieOnly;
    const b = f.withSnapshots;
    const by = (c) => Object.entries(c.readsByPrefix).map(([k, n]) => `${k} ${int(n)}`).join(", ");
    return row([
      "2",
      `KV per minute at one location (one isolate), ${int(f.users)} active sessions of one tenant, each GET /api/me every ${f.intervalSeconds} s (${int(a.requests)} requests), counted: A = session cookie only (reads: ${by(a)}), B = with snapshot cookies (reads: ${by(b)}); keys read A ${int(a.kvKeysRead)}, B ${int(b.kvKeysRead)}; writes A ${int(a.kvWrites)}, B ${int(b.kvWrites)}`,
      `${int(a.kvReads)} reads, ${int(a.kvKeysTouched)} keys`,
      `${int(b.kvReads)} reads, ${int(b.kvKeysTouched)} keys`,
      x(b.kvReads / Math.max(1, a.kvReads)),
      "no per-session read, 1 key",
      verdict((b.readsByPrefix.session ?? 0) === 0 && b.kvKeysRead <= 1),
    ]);
  });
}

/** Product webhooks (bench/webhooks.test.ts, in workerd): what queuing one costs a change, and one tenant's delivery rate. */
function webhookRows(w) {
  const cost = w["webhooks: change cost"];
  const rate = w["webhooks: delivery throughput per tenant"];
  if (!cost || !rate) return [];
  return [
    row([
      "10",
      `webhooks: a change (PATCH /api/account/profile) with its webhook queued, requests a second in workerd over ${int(cost.requests)} of each, interleaved: A = webhooks off, B = on (with the waitUntil work: the drain and the queue message; the local consumer's deliveries share the isolate)`,
      `${int(cost.withWaitUntil.offPerSecond)} req/s`,
      `${int(cost.withWaitUntil.onPerSecond)} req/s`,
      `${x(cost.withWaitUntil.ratio)} (answer alone ${x(cost.answered.ratio)}; from one queue send timed alone, ${ms(cost.queueSendMs)}: ${x(cost.ratioFromSend)})`,
      "≥ 0.95x",
      verdict(cost.withWaitUntil.ratio >= 0.95),
    ]),
    row(["10", `webhooks: one tenant's delivery from its chain through the consumer and its object to a receiver that answers at once (${int(rate.events)} events, ${int(rate.consumerCalls)} consumer calls)`, `${int(rate.perSecond)} events/s`, "", "", "", ""]),
  ];
}

/** How each copy's audit rows reached the tenant's object (bench/run.mjs startSized). */
function auditSeedingNote(r) {
  if (!r.auditImportSeconds) return "";
  const imported = (size) =>
    `${r.config[size].auditRows} rows seeded into D1's \`audit_logs\` (as before the chain moved into the tenant's object), imported by the object's first drain: from the sign-in that starts it to the first audit page, which waits for it, ${r.auditImportSeconds[size].toFixed(1)} s (at least ${Math.round(r.config[size].auditRows / r.auditImportSeconds[size])} rows a second)`;
  const large = r.config.large.auditIn === "object" ? `${r.config.large.auditRows} rows written straight into the tenant's object` : imported("large");
  return ` Audit rows, before anything was measured: small copy ${imported("small")}; large copy ${large}.`;
}

export function renderMarkdown(r) {
  const { edge, growth, workerd: w, sizes, config, machine: m } = r;
  const hot = w.hotMe;
  const tp = config.throughput;
  const g = (page) => ({ s: growth[`${page}@small`], l: growth[`${page}@large`] });
  const grow = (page) => g(page).l.p50 / g(page).s.p50;
  const { small, large } = config;
  const sizeNote = (a, b, what) => `${int(a[what])} → ${int(b[what])}`;

  const rows = [
    row(["#", "Figure", "A", "B", "B / A", "Goal", "Status"]),
    row(["-", "-", "-", "-", "-", "-", "-"]),
    ...[
      ["me", "one session with its snapshot cookie (its requests seconds apart at most, as in a page load)", 0.9],
      ["meMany", `${int(small.bobSessions)} distinct sessions of the tenant in turn, each with its snapshot cookie, as browsers send them (each seen again only after several seconds)`, 0.8],
      ["meManyKv", `the same ${int(small.bobSessions)} sessions with the session cookie alone (no snapshot: the per-session KV path, as before snapshots, plus a snapshot issued with every answer)`, null],
    ]
      .filter(([name]) => edge[name])
      .map(([name, what, goal]) => {
        const rps = pairRatio(edge.health, edge[name], "rps");
        const cpu = pairRatio(edge.health, edge[name], "cpuMs");
        return row([
          "1",
          `Edge check, same process, req/s at ${tp.connections} connections (median of ${tp.rounds} × ${tp.seconds} s; server CPU per request in brackets): A = GET /api/health (no middleware), B = GET /api/me with a valid session and ${small.ipRules} IP rules, ${what}`,
          `${int(edge.health.rps)} req/s (${ms(edge.health.cpuMs)})`,
          `${int(edge[name].rps)} req/s (${ms(edge[name].cpuMs)})`,
          `req/s ${rps.text}; CPU ${cpu.text}`,
          goal === null ? "(reference)" : `≥ ${goal.toFixed(2)}x (req/s)`,
          goal === null ? "" : verdict(rps.median >= goal),
        ]);
      }),
    row(["1", "… latency p50 / p99 under that load (B = one session)", `${ms(edge.health.p50)} / ${ms(edge.health.p99)}`, `${ms(edge.me.p50)} / ${ms(edge.me.p99)}`, x(edge.me.p50 / edge.health.p50), "", ""]),
    ...[
      ["kv1", "one KV read (a session-sized entry)"],
      ["kv2", "two KV reads (session-sized, then a 50-rule set)"],
      ["d1", "one D1 read by primary key"],
    ].map(([name, what]) =>
      row([
        "1",
        `reference Worker (bench/reference), same rounds and load: A = bare route, B = ${what}`,
        `${int(edge.bare.rps)} req/s (${ms(edge.bare.cpuMs)})`,
        `${int(edge[name].rps)} req/s (${ms(edge[name].cpuMs)})`,
        `req/s ${pairRatio(edge.bare, edge[name], "rps").text}; CPU ${pairRatio(edge.bare, edge[name], "cpuMs").text}`,
        "",
        "",
      ]),
    ),
    row([
      "2",
      "D1 queries per hot GET /api/me, counted: A = right after the session's previous request, B = 2 s later",
      String(hot.immediate.d1Queries),
      String(hot.after2s.d1Queries),
      "",
      "0",
      verdict(hot.immediate.d1Queries === 0 && hot.after2s.d1Queries === 0),
    ]),
    row([
      "2",
      `KV reads per hot GET /api/me, counted (A: ${hot.immediate.kvKeys.join(", ") || "none"}; B: ${hot.after2s.kvKeys.join(", ") || "none"})`,
      String(hot.immediate.kvReads),
      String(hot.after2s.kvReads),
      "",
      "1",
      kvVerdict(hot.immediate.kvReads <= 1, hot.after2s.kvReads <= 1),
    ]),
    ...kvPerMinuteRows(w.kvPerMinute),
    ...[
      ["sessions", "GET /api/security/sessions", `sessions ${sizeNote(small, large, "sessions")}`],
      ["audit", "first audit page (GET /api/audit-logs, 50 rows)", `audit rows ${sizeNote(small, large, "auditRows")}`],
      ["auditByAction", "first audit page filtered by action", `audit rows ${sizeNote(small, large, "auditRows")}`],
    ].map(([page, label, what]) =>
      row([
        "3",
        `${label}, p50 (p99), A = small, B = large: ${what}`,
        `${ms(g(page).s.p50)} (${ms(g(page).s.p99)})`,
        `${ms(g(page).l.p50)} (${ms(g(page).l.p99)})`,
        x(grow(page)),
        "≤ 1.50x",
        verdict(grow(page) <= 1.5),
      ]),
    ),
    row(["3", "control: GET /api/health on each copy, p50 (p99)", `${ms(g("health").s.p50)} (${ms(g("health").s.p99)})`, `${ms(g("health").l.p50)} (${ms(g("health").l.p99)})`, x(grow("health")), "≈ 1x", ""]),
    row(["3", "query plan tests (index walk, no scan, no sort)", `${w.plans.passed} of ${w.plans.total} pass`, "", "", "all", verdict(w.plans.total > 0 && w.plans.passed === w.plans.total)]),
    row(["4", `worker bundle gzip (wrangler deploy --dry-run; wrangler says ${sizes.worker.wranglerGzipKiB} KiB)`, kb(sizes.worker.bytes), "", "", `≤ ${WORKER_GZIP_BUDGET_BYTES / 1000} kB`, verdict(sizes.worker.bytes <= WORKER_GZIP_BUDGET_BYTES)]),
    row(["4", `panel JavaScript gzip (${sizes.panel.files} file${sizes.panel.files === 1 ? "" : "s"})`, kb(sizes.panel.bytes), "", "", "≤ 30 kB", verdict(sizes.panel.bytes <= 30_000)]),
    row([
      "5",
      `password verification (PBKDF2-SHA256, 100,000 iterations) in workerd: A = mean of ${w.signIn.pbkdf2Runs} runs (least disturbed run ${ms(w.signIn.passwordMinMs)}), B / A = share of the 10 ms`,
      ms(w.signIn.passwordMs),
      "",
      x(w.signIn.passwordMs / 10),
      "≤ 10 ms CPU (free plan)",
      w.signIn.passwordMs <= 10 ? "met" : w.signIn.passwordMinMs <= 10 ? "**borderline** (mean over, best run under)" : "**missed**",
    ]),
    row(["5", `TOTP verification (matchTotpStep, ±1 step) in workerd, mean of ${int(w.signIn.totpRuns)}: A = right code, B = wrong code (3 steps)`, ms(w.signIn.totpOkMs), ms(w.signIn.totpWrongMs), "", "≤ 10 ms CPU (free plan)", verdict(w.signIn.totpWrongMs <= 10)]),
    ...(w.passkey
      ? [row(["5", `passkey assertion verification (ES256, src/passkeys/ceremony.ts checkAssertion) in workerd, mean of ${int(w.passkey.runs)}`, ms(w.passkey.verifyMs), "", "", "≤ 10 ms CPU (free plan)", verdict(w.passkey.verifyMs <= 10)])]
      : []),
    ...(r.auditConcurrency
      ? [
          row([
            "6",
            `audit rows under concurrency: ${r.auditConcurrency.parallel} parallel refused requests (an owner's invalid role changes, 400): A = requests refused, B = FAIL rows written; chain afterwards: ${r.auditConcurrency.verify.ok ? "verifies" : `**broken at seq ${r.auditConcurrency.verify.firstBrokenSeq}**`} (${int(r.auditConcurrency.verify.checked)} rows)`,
            int(r.auditConcurrency.refused),
            int(r.auditConcurrency.rows),
            x(r.auditConcurrency.rows / r.auditConcurrency.refused),
            "B = A, chain verifies",
            verdict(r.auditConcurrency.rows === r.auditConcurrency.refused && r.auditConcurrency.verify.ok),
          ]),
        ]
      : []),
    ...gatewayRows(r),
    ...webhookRows(w),
  ];

  const p = r.profile;
  const profileSection = p?.error
    ? `\nProfile not taken: ${p.error}\n`
    : p
    ? `
### Profile: the Worker's own JavaScript under the same load (V8 sampling profiler, one ${tp.seconds} s run each)

Isolate busy time per request (JavaScript and the runtime calls it makes; the local KV and D1 storage work outside it): GET /api/health ${ms(p.health.busyMsPerRequest)}, GET /api/me ${ms(p.me.busyMsPerRequest)} (${x(p.me.busyMsPerRequest / p.health.busyMsPerRequest)}). Functions by self time, GET /api/me (built-ins named with their caller; line numbers are in the bundle \`wrangler dev\` builds):

| share of busy time | function |
| - | - |
${p.me.top.map((f) => `| ${(f.share * 100).toFixed(1)}% | \`${f.fn}\` |`).join("\n")}
${
  p.gwApp
    ? `
Gatehouse's isolate serving GET /app in gateway mode (the product's isolate is not profiled): ${ms(p.gwApp.busyMsPerRequest)} busy per request (${x(p.gwApp.busyMsPerRequest / p.health.busyMsPerRequest)} of GET /api/health). Functions by self time:

| share of busy time | function |
| - | - |
${p.gwApp.top.map((f) => `| ${(f.share * 100).toFixed(1)}% | \`${f.fn}\` |`).join("\n")}
`
    : ""
}`
    : "";
  const findings = existsSync("bench/FINDINGS.md") ? `\n${readFileSync("bench/FINDINGS.md", "utf8")}` : "";
  return `# Gatehouse benchmark${r.quick ? " (quick mode: smaller sizes, shorter runs)" : ""}

\`npm run bench${r.quick ? " -- --quick" : ""}\`, ${m.date}, ${r.seconds.toFixed(0)} s in all.

Machine: ${m.nproc} cores (${m.cpu}), memory \`${m.memory}\`, load average at start ${m.loadavg}; Node ${m.node}, workerd ${m.workerd}, wrangler ${m.wrangler}, autocannon ${m.autocannon}. Code: commit ${m.commit}${
    m.uncommittedSrc.length ? ` plus uncommitted changes in ${m.uncommittedSrc.map((l) => `\`${l.slice(3)}\``).join(", ")} (the checkout is shared; the bench runs the working tree)` : ""
  }.
Local mode throughout (\`npm start\`: workerd with local D1 and KV, request logging off), loopback only. The machine is shared and noisy: read the ratios, not the absolute figures. Bulk rows were seeded by SQL in ${r.seedSeconds.small.toFixed(1)} s (small) and ${r.seedSeconds.large.toFixed(1)} s (large).${auditSeedingNote(r)}

${rows.join("\n")}
${w.plans.failures.length ? `\nFailing query plan tests:\n${w.plans.failures.map((f) => `- ${f}`).join("\n")}\n` : ""}${profileSection}${r.tenantLoad ? `\n${tenantLoadSection(r.tenantLoad)}` : ""}${r.auditLoad ? `\n${auditLoadSection(r.auditLoad)}` : ""}${findings}`;
}
