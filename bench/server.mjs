// Starts Gatehouse the way the README does (`npm start`: local workerd, D1 and KV) on a
// free loopback port with throwaway state and request logging off (and the reference
// Worker of bench/reference and the pass-through of bench/passthrough likewise), and stops the whole process group it started
// (npm → start.mjs → wrangler → workerd), even on failure.
import { spawn } from "node:child_process";
import { openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, stopGroup, waitForUrl } from "../scripts/local-process.mjs";
import { gatehousePath } from "../scripts/gatehouse-path.mjs";

const START_TIMEOUT_MS = 180_000;
const CLOCK_TICKS = 100; // USER_HZ on Linux: the unit of utime/stime in /proc/<pid>/stat
const running = new Set();

const tail = (file) => readFileSync(file, "utf8").split("\n").slice(-30).join("\n");

async function waitFor(url, child, logFile) {
  try {
    await waitForUrl(url, child, START_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`${err.message}:\n${tail(logFile)}`);
  }
}

/** CPU seconds used so far by every process of the group (wrangler, workerd, …), from /proc. */
function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // After "(comm) ": state ppid pgrp … utime stime cutime cstime (fields 3, 4, 5 … 14–17 of
    // proc(5)). cutime/cstime keep the CPU of children that exited and were reaped (a
    // bundler run, a restarted workerd), so the sum never goes backwards.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / CLOCK_TICKS;
}

/**
 * Spawns a server in its own process group, logging to <persistTo>/server.log, and waits
 * for readyPath. `url` includes `basePath`, so callers name paths below it.
 */
async function launch(cwd, persistTo, command, args, env, readyPath, basePath = "") {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}${basePath}`;
  const logFile = join(persistTo, "server.log");
  const child = spawn(command, args(port), {
    cwd,
    // Its own dev registry: the default one is per user, shared with every other `wrangler
    // dev` on the machine (other checkouts' `npm start`, the browser tests), which register
    // Workers of the same names; each bench process is self-contained.
    env: { ...process.env, ...env(port), WRANGLER_SEND_METRICS: "false", WRANGLER_REGISTRY_PATH: join(persistTo, "registry") },
    stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")],
    detached: true, // its own process group, so stop() reaches workerd too
  });
  running.add(child);
  const server = { url, pgid: child.pid, stop: () => stop(child), cpuSeconds: () => groupCpuSeconds(child.pid) };
  try {
    await waitFor(`${url}${readyPath}`, child, logFile);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** `npm start` in `appDir` on state already seeded in `persistTo`; resolves once its health route answers. Its `url` is Gatehouse's path on the host. */
export function startServer(appDir, persistTo) {
  return launch(
    appDir,
    persistTo,
    "npm",
    () => ["start"],
    (port) => ({
      PORT: String(port),
      GATEHOUSE_PERSIST_TO: persistTo,
      GATEHOUSE_QUIET: "1",
      GATEHOUSE_SKIP_UI_BUILD: "1", // run.mjs builds the panel once, up front
      IDP_PORT: "0", // npm start's local IdP on a free port: never the demo's 9400, which another checkout may hold
    }),
    "/api/health",
    gatehousePath(),
  );
}

/** The reference Worker (bench/reference: floor costs of local KV and D1), set up. */
export async function startReference(persistTo) {
  const server = await launch(
    process.cwd(),
    persistTo,
    "npx",
    (port) => ["wrangler", "dev", "--config", "bench/reference/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistTo, "--log-level", "error"],
    () => ({}),
    "/bare",
  );
  const res = await fetch(`${server.url}/setup`);
  if (!res.ok) {
    await server.stop();
    throw new Error(`reference /setup answered ${res.status}`);
  }
  return server;
}

/**
 * The bare pass-through (bench/passthrough) in front of a copy of the demo product, both in
 * one `wrangler dev` run from `appDir` (the snapshot: nothing reloads mid-run). The product's
 * config is its own wrangler.toml with only the names changed, so that it binds to the
 * pass-through (for the JWKS) and no name collides with the Gatehouse copies' Workers.
 */
export async function startPassthrough(appDir, persistTo, { assets = false } = {}) {
  const productToml = readFileSync(join(appDir, "examples/acme-notes/wrangler.toml"), "utf8");
  const edits = [
    ['name = "acme-notes"', 'name = "acme-notes-bench-passthrough"'],
    ['main = "src/index.ts"', 'main = "../../examples/acme-notes/src/index.ts"'],
    ['service = "gatehouse"', 'service = "gatehouse-bench-passthrough"'],
  ];
  let copy = productToml;
  for (const [from, to] of edits) {
    if (!copy.includes(from)) throw new Error(`examples/acme-notes/wrangler.toml has no ${from}; update bench/server.mjs`);
    copy = copy.replace(from, to);
  }
  const copyPath = "bench/passthrough/product.generated.toml";
  writeFileSync(join(appDir, copyPath), `# Generated by bench/server.mjs from examples/acme-notes/wrangler.toml.\n${copy}`);
  // With `assets`, the pass-through also gets Gatehouse's own [assets] section (the panel's
  // directory, run_worker_first): the platform's asset router then sits in front of it too.
  let ptConfig = "bench/passthrough/wrangler.toml";
  if (assets) {
    const section = /\n\[assets\][^[]*/.exec(readFileSync(join(appDir, "wrangler.toml"), "utf8"))?.[0];
    if (!section?.includes("run_worker_first = true")) throw new Error("wrangler.toml has no [assets] section with run_worker_first; update bench/server.mjs");
    ptConfig = "bench/passthrough/wrangler.assets.generated.toml";
    const base = readFileSync(join(appDir, "bench/passthrough/wrangler.toml"), "utf8");
    writeFileSync(join(appDir, ptConfig), `# Generated by bench/server.mjs: the pass-through with Gatehouse's [assets] section.\n${base}\n${section.replace('directory = "./dist/panel"', 'directory = "../../dist/panel"')}`);
  }
  return launch(
    appDir,
    persistTo,
    "npx",
    (port) => ["wrangler", "dev", "-c", ptConfig, "-c", copyPath, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistTo, "--log-level", "error"],
    () => ({ CLOUDFLARE_CF_FETCH_ENABLED: "false" }),
    "/",
  );
}

async function stop(child) {
  running.delete(child);
  await stopGroup(child);
}

/** Stops every server still running (for signal handlers and fatal errors). */
export const stopAll = () => Promise.all([...running].map(stop));

/** A bench run from the command line: Ctrl-C or a kill stops every server it started first. */
export function stopAllOnSignals() {
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, async () => {
      await stopAll();
      process.exit(130);
    });
  }
}
