// Checks `npm run cache:rebuild` against wrangler's local D1 and KV (run by `npm test`): in a
// throwaway local state, creates the `cache_rebuilds` table (its migration only), fills KV
// with session and tenant edge entries, rebuilds, and fails unless the rebuild was recorded
// in D1 at D1's clock (this machine's, locally) and every key is gone.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wranglerSync } from "./wrangler.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
const dir = mkdtempSync(join(tmpdir(), "gatehouse-kv-check-"));
const local = ["--local", "--persist-to", dir, "--env="];
const kvScope = ["--binding", "SESSION_CACHE", ...local];
// Stopped from outside (`npm test` stops the other steps when one fails): leave nothing behind.
process.once("SIGTERM", () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(143);
});

// One wrangler at a time: two local runtimes on one --persist-to fail on a locked SQLite file.
function succeeded(what, res) {
  if (res.status !== 0) {
    console.error(`check-cache-rebuild: ${what} failed\n${res.stdout}\n${res.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  return res.stdout;
}
const wrangler = (args) => succeeded(`wrangler ${args.join(" ")}`, wranglerSync(args, { encoding: "utf8" }));
const json = (out) => JSON.parse(out.slice(out.indexOf("[")));
const listed = () => json(wrangler(["kv", "key", "list", ...kvScope])).map((k) => k.name);
const d1 = (args) => json(wrangler(["d1", "execute", "DB", "--json", ...args, ...local]));

try {
  const migration = readdirSync("migrations").find((f) => f.endsWith(".sql") && readFileSync(join("migrations", f), "utf8").includes("CREATE TABLE `cache_rebuilds`"));
  if (!migration) throw new Error("no migration creates cache_rebuilds");
  d1(["--file", join("migrations", migration), "--yes"]);
  const stale = ["session:ses_stale1", "session:ses_stale2", "tenant-edge:ten_restored"].map((key) => ({ key, value: '{"stale":true}' }));
  writeFileSync(join(dir, "stale.json"), JSON.stringify(stale));
  wrangler(["kv", "bulk", "put", join(dir, "stale.json"), ...kvScope]);
  const before = Date.now();
  const report = succeeded("cache-rebuild", spawnSync(process.execPath, ["scripts/cache-rebuild.mjs", "--persist-to", dir], { encoding: "utf8" }));
  const after = Date.now();
  const left = listed();
  if (left.length !== 0) throw new Error(`cache:rebuild left ${left.join(", ")}`);
  if (!/"deleted":3/.test(report)) throw new Error(`cache:rebuild reported ${report.trim()}`);
  const rows = d1(["--command", "SELECT id, rebuilt_at FROM cache_rebuilds"])[0].results;
  const at = rows[0]?.rebuilt_at;
  if (rows.length !== 1 || !(at >= before - 1000 && at <= after + 1000)) throw new Error(`cache:rebuild recorded ${JSON.stringify(rows)}, not a time between ${before} and ${after}`);
  console.log("check-cache-rebuild: OK (the rebuild recorded in local D1, 3 stale entries removed from local KV)");
} catch (err) {
  console.error(`check-cache-rebuild: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
