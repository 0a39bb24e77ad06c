// `npm run test:e2e`: start Gatehouse the way the README does (npm start) on a free
// port with throwaway state, run every browser scenario against it, stop it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopGroup, waitForUrl } from "../scripts/local-process.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const TESTS = new URL("./tests/", import.meta.url).pathname;
const START_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 300_000;

function ensureChromium() {
  if (existsSync("/usr/bin/chromium")) return;
  console.log("Installing chromium (apt-get)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "chromium"]]) {
    const res = spawnSync("apt-get", args, { stdio: "inherit", env, timeout: 600_000 });
    if (res.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
}

let tests = null;

function runTests(env) {
  const files = readdirSync(TESTS).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => join(TESTS, f));
  // One file at a time: the scenarios share one database and TOTP steps are single-use.
  const child = (tests = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", "--test-timeout=150000", ...files], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: "inherit",
    detached: true,
  }));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.error(`\nE2E run exceeded ${RUN_TIMEOUT_MS / 1000}s; stopping it.`);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, RUN_TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(signal ? 1 : (code ?? 1));
    });
  });
}

let server = null;
const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-e2e-"));
const logFile = join(stateDir, "server.log");
let exitCode = 1;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await stopGroup(tests);
    await stopGroup(server);
    process.exit(130);
  });
}

try {
  ensureChromium();
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const log = openSync(logFile, "a");
  console.log(`Starting Gatehouse on ${baseUrl} (state ${stateDir}, log ${logFile})`);
  server = spawn("npm", ["start"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), GATEHOUSE_PERSIST_TO: join(stateDir, "state"), GATEHOUSE_QUIET: "1" },
    stdio: ["ignore", log, log],
    detached: true,
  });
  await waitForUrl(`${baseUrl}/api/health`, server, START_TIMEOUT_MS);
  console.log("Gatehouse is up; running browser scenarios.\n");
  exitCode = await runTests({ E2E_BASE_URL: baseUrl, E2E_STATE_DIR: stateDir });
} catch (err) {
  console.error(`\nE2E setup failed: ${err.message}`);
} finally {
  await stopGroup(server);
  if (exitCode === 0) rmSync(stateDir, { recursive: true, force: true });
  else {
    // CI has no shell to look around in: show the server's last words right here.
    if (existsSync(logFile)) console.error(`\n--- last lines of ${logFile} ---\n${readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")}`);
    console.error(`Kept ${stateDir} for inspection.`);
  }
}
console.log(exitCode === 0 ? "\nE2E: all scenarios passed." : "\nE2E: FAILED.");
process.exit(exitCode);
