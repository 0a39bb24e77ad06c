// The app under test is a copy of the working tree taken when the bench starts.
// The checkout is shared and edited while the bench runs; `wrangler dev` watches its
// sources and would reload the Worker mid-measurement (new isolate, cold caches, failed
// requests). A copy runs the same code, `npm start` and all, without that.
import { cpSync, existsSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// What `npm start` needs (Gatehouse and, in gateway mode, the demo product of examples/ with the product package of packages/), plus what the bench's in-workerd tests import (bench/, test/).
const PARTS = ["package.json", "wrangler.toml", "tsconfig.json", ".dev.vars", "src", "migrations", "scripts", "examples", "packages", "dist/panel", "test", "bench"];

/** A copy of the app in `from` (default: the working directory) in a fresh temporary directory. */
export function snapshotApp(from = ".") {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-app-"));
  for (const part of PARTS) if (existsSync(join(from, part))) cpSync(join(from, part), join(dir, part), { recursive: true });
  symlinkSync(resolve(from, "node_modules"), join(dir, "node_modules"));
  return dir;
}
