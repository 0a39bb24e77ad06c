// Shipped sizes, gzipped here (level 9, as a CDN would serve it) from the real build
// outputs: the worker bundle as `wrangler deploy --dry-run` writes it, the panel's JS.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

function sh(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** Builds the panel (npm run build:ui) and sums the gzip of each of its JS files. */
export function panelJsGzip() {
  sh("npm", ["run", "build:ui"]);
  const dir = "dist/panel/assets";
  const files = readdirSync(dir).filter((f) => f.endsWith(".js"));
  return { bytes: files.reduce((n, f) => n + gz(join(dir, f)), 0), files: files.length };
}

/** Bundles the worker as a deploy would (without uploading) and gzips its modules. */
export function workerGzip() {
  const out = mkdtempSync(join(tmpdir(), "gatehouse-bench-worker-"));
  try {
    const log = sh("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out]);
    const files = readdirSync(out).filter((f) => /\.(m?js|wasm)$/.test(f));
    // Wrangler's own figure, printed for comparison ("Total Upload: … / gzip: … KiB").
    const wranglerGzipKiB = Number(/gzip:\s*([\d.]+)\s*KiB/.exec(log)?.[1] ?? NaN);
    return { bytes: files.reduce((n, f) => n + gz(join(out, f)), 0), wranglerGzipKiB };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
