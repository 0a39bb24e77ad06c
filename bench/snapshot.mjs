// The app under test is a copy of the working tree taken when the bench starts.
// The checkout is shared and edited while the bench runs; `wrangler dev` watches its
// sources and would reload the Worker mid-measurement (new isolate, cold caches, failed
// requests). A copy runs the same code, `npm start` and all, without that.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// What `npm start` needs, plus what the bench's in-workerd tests import (bench/, test/).
const PARTS = ["package.json", "wrangler.toml", "tsconfig.json", ".dev.vars", "src", "migrations", "scripts", "dist/panel", "test", "bench"];

export function snapshotApp() {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-app-"));
  for (const part of PARTS) if (existsSync(part)) cpSync(part, join(dir, part), { recursive: true });
  symlinkSync(resolve("node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * A second copy with a proposed change applied (`npm run bench -- --option x.patch`), to measure
 * an option for a missed goal without touching src/. Returns null, with the reason,
 * when the patch no longer applies (the code it was written against moved on).
 */
export function patchedCopy(appDir, patchFile) {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-option-"));
  cpSync(appDir, dir, { recursive: true, verbatimSymlinks: true });
  const res = spawnSync("patch", ["-p1", "--forward", "--batch", "--silent", "-i", resolve(patchFile)], { cwd: dir, encoding: "utf8" });
  if (res.status === 0) return { dir };
  rmSync(dir, { recursive: true, force: true });
  return { dir: null, reason: `${patchFile} does not apply to this code: ${(res.stdout + res.stderr).trim().split("\n")[0]}` };
}
