// `npm run deploy`: build the panel, check it and the worker bundle, apply the remote D1
// migrations, then `wrangler deploy`. Nothing reaches Cloudflare unless every check passes.
//
// `npm run deploy -- --dry-run` (`npm run check:deploy`) runs the same checks without an
// account: it builds the panel, bundles the worker with `wrangler deploy --dry-run` into
// dist/worker and skips the remote migrations and the upload. It fails when the panel has
// no index.html or no JavaScript, or when the bundle is over its gzip budget.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { WORKER_GZIP_BUDGET_BYTES, bundleGzipBytes } from "./bundle-size.mjs";
import { panelProblems } from "./panel-check.mjs";

const WORKER_OUTDIR = "dist/worker";

const USAGE = "usage: node scripts/deploy.mjs [--dry-run]";
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--dry-run");
if (unknown.length > 0) fail(`unknown argument ${unknown.join(" ")}\n${USAGE}`);
const dryRun = args.includes("--dry-run");

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

/**
 * The ids wrangler.toml still holds as placeholders: a real deploy needs the account's own
 * D1 database and KV namespace. (Local mode, `npm start` and the tests use the placeholders
 * as names of local state and never ask Cloudflare about them.)
 */
function placeholderIds(toml) {
  const inTable = (table, key) => {
    const body = new RegExp(`^\\[\\[${table}\\]\\]\\s*$([\\s\\S]*?)(?=^\\[|$(?![\\s\\S]))`, "m").exec(toml)?.[1] ?? "";
    return new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m").exec(body)?.[1] ?? "";
  };
  // Real ids: a D1 database id is a UUID, a KV namespace id 32 hex digits; never all zeros.
  const real = (id, shape) => shape.test(id) && /[1-9a-f]/i.test(id);
  const problems = [];
  const d1 = inTable("d1_databases", "database_id");
  if (!real(d1, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)) {
    problems.push(`[[d1_databases]] database_id is "${d1}": run \`npx wrangler d1 create gatehouse\` and set database_id to the id it prints`);
  }
  const kv = inTable("kv_namespaces", "id");
  if (!real(kv, /^[0-9a-f]{32}$/i)) {
    problems.push(`[[kv_namespaces]] id is "${kv}": run \`npx wrangler kv namespace create SESSION_CACHE\` and set id to the id it prints`);
  }
  return problems;
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

// 1. The account's own ids: checked first, so a real deploy stops before building anything.
const idProblems = placeholderIds(readFileSync("wrangler.toml", "utf8"));
if (idProblems.length > 0) {
  const list = idProblems.map((p) => `  wrangler.toml ${p}`).join("\n");
  if (!dryRun) fail(`wrangler.toml still has placeholder ids; set them before deploying:\n${list}`);
  console.log(`(dry run) a real deploy would stop here until these are set:\n${list}`);
}

// 2. The panel, built from this checkout and checked.
run("npm", ["run", "build:ui"]);
const problems = panelProblems();
if (problems.length > 0) fail(`the security panel is not ready to ship:\n  ${problems.join("\n  ")}`);
console.log("deploy: panel OK (index.html and every asset it loads)");

// 3. The worker bundle, exactly as a deploy builds it, within its budget.
rmSync(WORKER_OUTDIR, { recursive: true, force: true });
run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", WORKER_OUTDIR]);
const gzipBytes = bundleGzipBytes(WORKER_OUTDIR);
if (gzipBytes === 0) fail(`wrangler wrote no module into ${WORKER_OUTDIR}`);
if (gzipBytes > WORKER_GZIP_BUDGET_BYTES) {
  fail(`the worker bundle is ${kb(gzipBytes)} gzip, over its ${kb(WORKER_GZIP_BUDGET_BYTES)} budget (WORKER_GZIP_BUDGET_BYTES in scripts/bundle-size.mjs)`);
}
console.log(`deploy: worker bundle ${kb(gzipBytes)} gzip (budget ${kb(WORKER_GZIP_BUDGET_BYTES)})`);

if (dryRun) {
  console.log("\ndeploy: dry run passed (remote migrations and upload skipped)");
  process.exit(0);
}

// 4. Schema first: the new code may need it, the old code tolerates additive migrations.
run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--remote"]);
// 5. Upload (wrangler.toml's [build] checks the panel once more).
run("npx", ["wrangler", "deploy"]);
