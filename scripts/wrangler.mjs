// Runs this checkout's wrangler (node_modules/.bin) the way `npx wrangler` does, without npx's
// own start-up on every call (about half a second each; `npm test` makes a dozen). The bin
// directory goes first on PATH, so wrangler runs on the `node` devDependency (wrangler needs
// Node >= 22) even when a script was started with an older system Node.
import { spawn, spawnSync } from "node:child_process";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
const WRANGLER = join(BIN, "wrangler");

function withBin(options) {
  const env = options.env ?? process.env;
  return { ...options, env: { ...env, PATH: `${BIN}${delimiter}${env.PATH ?? ""}` } };
}

/** `wrangler <args>`, waited for (spawnSync's options and result). */
export function wranglerSync(args, options = {}) {
  return spawnSync(WRANGLER, args, withBin(options));
}

/** `wrangler <args>` as a running child (spawn's options), e.g. `wrangler dev`. */
export function wranglerSpawn(args, options = {}) {
  return spawn(WRANGLER, args, withBin(options));
}

/**
 * `wrangler <args>` with its output collected: resolves to { status, signal, stdout, stderr }
 * when it exits, so independent calls can run side by side and each is reported whole.
 */
export function wranglerAsync(args, options = {}) {
  return new Promise((resolve) => {
    const child = wranglerSpawn(args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", (err) => resolve({ status: null, signal: null, stdout, stderr: `${stderr}${err.message}\n` }));
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
