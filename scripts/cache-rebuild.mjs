// `npm run cache:rebuild [-- --remote] [-- --env <name>] [-- --persist-to <dir>]`: after a D1
// restore (Time Travel or an import), or whenever the cache must not be trusted, makes
// every copy of D1 held outside it unusable, in this order:
//   1. records the rebuild in D1 (the one `cache_rebuilds` row, at D1's own clock): the
//      tenant edge documents rebuilt from D1 carry it, and no session snapshot (the
//      browsers' `__Host-gatehouse_snapshot` cookies) whose state was read from D1 before
//      it is used (src/sessions/snapshot-check.ts). First, so that a document refilled
//      while KV is being emptied already carries it;
//   2. empties the SESSION_CACHE KV namespace. KV only ever holds copies of D1 rows
//      (sessions with their user's security fields; each tenant's edge document
//      `tenant-edge:<tenantId>` with its IP rules, policy and recent session-state
//      fingerprints), read through on a miss: once it is empty every request is checked
//      against the restored D1, and the cache refills itself from there.
// No session or rule that the restore removed survives in KV or in a snapshot.
//
// Local by default (wrangler's local D1 and KV, as `npm start` uses them); --remote for the
// deployed database and namespace of the top-level Worker or of --env <name>. Prints the
// rebuild's time and how many keys it deleted.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wranglerSync } from "./wrangler.mjs";

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

const spawnWrangler = (cmdArgs) => wranglerSync(cmdArgs, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });

function wrangler(cmdArgs) {
  const res = spawnWrangler(cmdArgs);
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

// D1's clock, not this machine's: the Workers compare it with the times they read D1 at.
const MARK_REBUILT =
  "INSERT INTO cache_rebuilds (id, rebuilt_at) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER)) " +
  "ON CONFLICT (id) DO UPDATE SET rebuilt_at = excluded.rebuilt_at RETURNING rebuilt_at";

/** Step 1: the rebuild's time, as D1 recorded it. */
function markRebuilt() {
  const res = spawnWrangler(["d1", "execute", "DB", "--command", MARK_REBUILT, "--json", "--yes", ...scope]);
  if (res.status !== 0) {
    const missing = /no such table: cache_rebuilds/.test(`${res.stdout}${res.stderr}`)
      ? "\nThe database has no cache_rebuilds table: a restore to before a migration takes its tables with it. Apply the migrations (npx wrangler d1 migrations apply DB ...), then run this again."
      : "";
    console.error(`cache-rebuild: recording the rebuild in D1 failed (exit ${res.status ?? res.signal}); KV was not touched\n${res.stdout}${res.stderr}${missing}`);
    process.exit(1);
  }
  return JSON.parse(res.stdout.slice(res.stdout.indexOf("[")))[0].results[0].rebuilt_at;
}

const rebuiltAt = markRebuilt();
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
console.log(JSON.stringify({ msg: "cache rebuilt", remote, rebuiltAt: new Date(rebuiltAt).toISOString(), deleted: keys.length }));
