// Checks `npm run cache:rebuild` against wrangler's local KV (run by `npm test`): fills a
// throwaway local namespace with session and tenant edge entries, rebuilds, and fails unless
// every key is gone.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.WRANGLER_SEND_METRICS ??= "false";
const dir = mkdtempSync(join(tmpdir(), "gatehouse-kv-check-"));
const scope = ["--binding", "SESSION_CACHE", "--local", "--persist-to", dir, "--env="];

function run(cmd, cmdArgs) {
  const res = spawnSync(cmd, cmdArgs, { encoding: "utf8" });
  if (res.status !== 0) {
    console.error(`check-cache-rebuild: ${cmd} ${cmdArgs.join(" ")} failed\n${res.stdout}\n${res.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  return res.stdout;
}
const listed = () => {
  const out = run("npx", ["wrangler", "kv", "key", "list", ...scope]);
  return JSON.parse(out.slice(out.indexOf("["))).map((k) => k.name);
};

try {
  const stale = ["session:ses_stale1", "session:ses_stale2", "tenant-edge:ten_restored"].map((key) => ({ key, value: '{"stale":true}' }));
  writeFileSync(join(dir, "stale.json"), JSON.stringify(stale));
  run("npx", ["wrangler", "kv", "bulk", "put", join(dir, "stale.json"), ...scope]);
  const report = run(process.execPath, ["scripts/cache-rebuild.mjs", "--persist-to", dir]);
  const left = listed();
  if (left.length !== 0) throw new Error(`cache:rebuild left ${left.join(", ")}`);
  if (!/"deleted":3/.test(report)) throw new Error(`cache:rebuild reported ${report.trim()}`);
  console.log("check-cache-rebuild: OK (3 stale entries removed from local KV)");
} catch (err) {
  console.error(`check-cache-rebuild: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
