// `npm run deploy`: build the panel, check it and the worker bundle, apply the remote D1
// migrations, then `wrangler deploy`. Nothing reaches Cloudflare unless every check passes.
//
// `npm run deploy -- --dry-run` (`npm run check:deploy`) runs the same checks without an
// account: it builds the panel, bundles the worker with `wrangler deploy --dry-run` into
// dist/worker and skips the remote migrations and the upload. It fails when the panel has
// no index.html or no JavaScript, or when the bundle is over its gzip budget. It also bundles
// every [env.*] of wrangler.toml (side by side with the top-level bundle), so a broken staging
// or production section fails CI.
//
// `--env staging|production` targets that wrangler environment (its own D1, KV, secrets and
// placeholder check); without it, the top-level Worker. Missing secrets stop `wrangler deploy`
// itself (wrangler.toml's secrets.required).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { buildPanel } from "./build-ui.mjs";
import { WORKER_GZIP_BUDGET_BYTES, bundleGzipBytes } from "./bundle-size.mjs";
import { panelProblems } from "./panel-check.mjs";
import { wranglerAsync, wranglerSync } from "./wrangler.mjs";

const WORKER_OUTDIR = "dist/worker";

const USAGE = "usage: node scripts/deploy.mjs [--dry-run] [--env <name>]";
const args = process.argv.slice(2);
let targetEnv = "";
const unknown = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--env") targetEnv = args[++i] ?? "";
  else if (args[i].startsWith("--env=")) targetEnv = args[i].slice("--env=".length);
  else if (args[i] !== "--dry-run") unknown.push(args[i]);
}
if (unknown.length > 0) fail(`unknown argument ${unknown.join(" ")}\n${USAGE}`);
const dryRun = args.includes("--dry-run");
const wranglerToml = readFileSync("wrangler.toml", "utf8");
const envNames = [...wranglerToml.matchAll(/^\[env\.([A-Za-z0-9_-]+)\]\s*$/gm)].map((m) => m[1]);
if (targetEnv && !envNames.includes(targetEnv)) fail(`--env ${targetEnv}: wrangler.toml has no [env.${targetEnv}] (it has ${envNames.join(", ") || "none"})`);
// Always explicit: with environments defined, a bare command would warn and guess.
const envArgs = [`--env=${targetEnv}`];
const where = targetEnv ? ` --env ${targetEnv}` : "";

process.env.WRANGLER_SEND_METRICS ??= "false";

function fail(message) {
  console.error(`\ndeploy: ${message}`);
  process.exit(1);
}

function run(cmd, cmdArgs) {
  console.log(`\n$ ${cmd} ${cmdArgs.join(" ")}`);
  const res = spawnSync(cmd, cmdArgs, { stdio: "inherit" });
  if (res.status !== 0) fail(`${cmd} ${cmdArgs.join(" ")} failed (exit ${res.status ?? res.signal})`);
}

function wrangler(cmdArgs) {
  console.log(`\n$ wrangler ${cmdArgs.join(" ")}`);
  const res = wranglerSync(cmdArgs, { stdio: "inherit" });
  if (res.status !== 0) fail(`wrangler ${cmdArgs.join(" ")} failed (exit ${res.status ?? res.signal})`);
}

/** `wrangler deploy --dry-run` of each (outdir, env) at once; each one's output printed whole, in order. */
async function bundleAll(targets) {
  const argsOf = ({ outdir, env }) => ["deploy", "--dry-run", "--outdir", outdir, `--env=${env}`];
  const results = await Promise.all(targets.map((target) => wranglerAsync(argsOf(target))));
  targets.forEach((target, i) => {
    const res = results[i];
    process.stdout.write(`\n$ wrangler ${argsOf(target).join(" ")}\n${res.stdout}`);
    process.stderr.write(res.stderr);
    if (res.status !== 0) fail(`wrangler ${argsOf(target).join(" ")} failed (exit ${res.status ?? res.signal})`);
  });
}

/**
 * What wrangler.toml still holds as placeholders: a real deploy needs the account's own
 * D1 database and KV namespace, and the address its users open (PUBLIC_ORIGIN). (Local
 * mode, `npm start` and the tests use the placeholder ids as names of local state and never
 * ask Cloudflare about them, and set PUBLIC_ORIGIN themselves.)
 */
function placeholders(toml, env) {
  const prefix = env ? `env\\.${env}\\.` : "";
  const tableBody = (header) => new RegExp(`^${header}\\s*$([\\s\\S]*?)(?=^\\[|$(?![\\s\\S]))`, "m").exec(toml)?.[1] ?? "";
  const inTable = (table, key) => {
    const body = tableBody(`\\[\\[${prefix}${table}\\]\\]`);
    return new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m").exec(body)?.[1] ?? "";
  };
  // Real ids: a D1 database id is a UUID, a KV namespace id 32 hex digits; never all zeros.
  const real = (id, shape) => shape.test(id) && /[1-9a-f]/i.test(id);
  const problems = [];
  const d1 = inTable("d1_databases", "database_id");
  if (!real(d1, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)) {
    const name = inTable("d1_databases", "database_name") || "gatehouse";
    problems.push(`[[${env ? `env.${env}.` : ""}d1_databases]] database_id is "${d1}": run \`npx wrangler d1 create ${name}\` and set database_id to the id it prints`);
  }
  const kv = inTable("kv_namespaces", "id");
  if (!real(kv, /^[0-9a-f]{32}$/i)) {
    problems.push(`[[${env ? `env.${env}.` : ""}kv_namespaces]] id is "${kv}": run \`npx wrangler kv namespace create SESSION_CACHE${env ? ` --env ${env}` : ""}\` and set id to the id it prints`);
  }
  // Every link Gatehouse sends starts with it; the worker checks its form at startup (src/config.ts).
  if (!/^PUBLIC_ORIGIN\s*=\s*(["'])[^"'\s]+\1/m.test(tableBody(`\\[${prefix}vars\\]`))) {
    problems.push(`[${env ? `env.${env}.` : ""}vars] PUBLIC_ORIGIN is not set: set it to the https:// origin users open this Worker on (its custom domain or workers.dev address)`);
  }
  // An environment without workers.dev must name its own domain, or the deploy reaches nobody.
  const section = env ? envSection(toml, env) : "";
  if (env && /^workers_dev\s*=\s*false/m.test(section) && !/^routes?\s*=/m.test(section)) {
    problems.push(`[env.${env}] has workers_dev = false and no routes: add routes = [{ pattern = "<your host>", custom_domain = true }]`);
  }
  return problems;
}

/** The lines of wrangler.toml that belong to [env.<env>] (its table and sub-tables). */
function envSection(toml, env) {
  let inside = false;
  const lines = [];
  for (const line of toml.split("\n")) {
    const header = /^\[\[?([^\]]+)\]\]?\s*$/.exec(line);
    if (header) inside = header[1] === `env.${env}` || header[1].startsWith(`env.${env}.`);
    else if (inside) lines.push(line);
  }
  return lines.join("\n");
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

// 1. The account's own ids and address: checked first, so a real deploy stops before building anything.
const idProblems = placeholders(wranglerToml, targetEnv);
if (idProblems.length > 0) {
  const list = idProblems.map((p) => `  wrangler.toml ${p}`).join("\n");
  if (!dryRun) fail(`wrangler.toml is not ready to deploy${where}; set these first:\n${list}`);
  console.log(`(dry run) a real deploy${where} would stop here until these are set:\n${list}`);
}

// 2. The panel, built from this checkout and checked (a dry run inside `npm test` reuses the
// build that run made up front, scripts/build-ui.mjs).
if (dryRun) buildPanel();
else run("npm", ["run", "build:ui"]);
const problems = panelProblems();
if (problems.length > 0) fail(`the security panel is not ready to ship:\n  ${problems.join("\n  ")}`);
console.log("deploy: panel OK (index.html and every asset it loads)");

// 3. The worker bundle, exactly as a deploy builds it, within its budget. A dry run of the
// whole file also bundles every other environment (a few seconds each, all at once), so none
// of them rots unnoticed.
const others = dryRun && !targetEnv ? envNames : [];
rmSync(WORKER_OUTDIR, { recursive: true, force: true });
await bundleAll([{ outdir: WORKER_OUTDIR, env: targetEnv }, ...others.map((env) => ({ outdir: `${WORKER_OUTDIR}-${env}`, env }))]);
for (const env of others) rmSync(`${WORKER_OUTDIR}-${env}`, { recursive: true, force: true });
const gzipBytes = bundleGzipBytes(WORKER_OUTDIR);
if (gzipBytes === 0) fail(`wrangler wrote no module into ${WORKER_OUTDIR}`);
if (gzipBytes > WORKER_GZIP_BUDGET_BYTES) {
  fail(`the worker bundle is ${kb(gzipBytes)} gzip, over its ${kb(WORKER_GZIP_BUDGET_BYTES)} budget (WORKER_GZIP_BUDGET_BYTES in scripts/bundle-size.mjs)`);
}
console.log(`deploy: worker bundle ${kb(gzipBytes)} gzip (budget ${kb(WORKER_GZIP_BUDGET_BYTES)})`);

if (dryRun) {
  for (const env of others) {
    const pending = placeholders(wranglerToml, env);
    if (pending.length > 0) console.log(`(dry run) --env ${env} would stop until set:\n${pending.map((p) => `  wrangler.toml ${p}`).join("\n")}`);
  }
  console.log(`\ndeploy: dry run passed${where || (others.length ? ` (and --env ${others.join(", --env ")})` : "")} (remote migrations and upload skipped)`);
  process.exit(0);
}

// 4. Schema first: the new code may need it, the old code tolerates additive migrations.
wrangler(["d1", "migrations", "apply", "DB", "--remote", ...envArgs]);
// 5. Upload (wrangler.toml's [build] checks the panel once more; secrets.required stops a
// deploy with a secret unset).
wrangler(["deploy", ...envArgs]);
