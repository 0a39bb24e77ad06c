// `npm run cache:rebuild [-- --remote] [-- --env <name>] [-- --persist-to <dir>]`: empties the
// SESSION_CACHE KV namespace, after a D1 restore (Time Travel or an import) or whenever the
// cache must not be trusted. KV only ever holds copies of D1 rows (sessions with their
// user's security fields; each tenant's edge document `tenant-edge:<tenantId>` with its
// IP rules, policy and recent session-state fingerprints), read through on a miss: once it
// is empty every request is checked against the restored D1, and the cache refills itself
// from there. No session or rule that the restore removed survives in KV.
//
// Local by default (wrangler's local KV, as `npm start` uses it); --remote for the deployed
// namespace of the top-level Worker or of --env <name>. Prints how many keys it deleted.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const USAGE = "usage: node scripts/cache-rebuild.mjs [--remote] [--env <name>] [--persist-to <dir>]";
// KV's bulk delete takes at most 10,000 keys per request.
const BULK_KEYS = 10_000;

const args = process.argv.slice(2);
const where = [];
let remote = false;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--remote") remote = true;
  else if (arg === "--local") remote = false;
  else if ((arg === "--env" || arg === "--persist-to") && args[i + 1]) where.push(arg, args[++i]);
  else {
    console.error(`cache-rebuild: unknown argument ${arg}\n${USAGE}`);
    process.exit(2);
  }
}
if (!where.includes("--env")) where.push("--env=");
const scope = [remote ? "--remote" : "--local", ...where];

process.env.WRANGLER_SEND_METRICS ??= "false";

function wrangler(cmdArgs) {
  const res = spawnSync("npx", ["wrangler", ...cmdArgs], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0) {
    console.error(`cache-rebuild: wrangler ${cmdArgs.join(" ")} failed (exit ${res.status ?? res.signal})\n${res.stderr}`);
    process.exit(1);
  }
  return res.stdout;
}

/** Every key name in SESSION_CACHE (wrangler pages through the listing). */
function listKeys() {
  const out = wrangler(["kv", "key", "list", "--binding", "SESSION_CACHE", ...scope]);
  const json = out.slice(out.indexOf("["));
  return JSON.parse(json).map((k) => k.name);
}

const keys = listKeys();
const dir = mkdtempSync(join(tmpdir(), "gatehouse-cache-"));
try {
  for (let i = 0; i < keys.length; i += BULK_KEYS) {
    const file = join(dir, `keys-${i}.json`);
    writeFileSync(file, JSON.stringify(keys.slice(i, i + BULK_KEYS)));
    wrangler(["kv", "bulk", "delete", file, "--binding", "SESSION_CACHE", "--force", ...scope]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// Keys written meanwhile by live traffic are refills from D1 (already the restored state).
console.log(JSON.stringify({ msg: "cache rebuilt", remote, deleted: keys.length }));
