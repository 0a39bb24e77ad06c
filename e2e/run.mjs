// `npm run test:e2e`: start Gatehouse the way the README does (npm start) on a free
// port with throwaway state, run every browser scenario against it, stop it. The local
// OpenID Provider (scripts/idp.mjs) runs here, on a free port too, with the demo's client and
// accounts and every scenario's (e2e/lib/scenario-users.mjs); npm start uses it
// (GATEHOUSE_IDP_ISSUER) and so do the scenarios (E2E_IDP_ISSUER).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_SSO, fetchDiscovery, localPublicOrigin, seedSql, ssoConnectionSql } from "../scripts/demo-data.mjs";
import { gatehousePath } from "../scripts/gatehouse-path.mjs";
import { gatehouseClient, startLocalIdp } from "../scripts/idp.mjs";
import { freePort, stopGroup, waitForUrl } from "../scripts/local-process.mjs";
import { launchShared } from "./lib/browser.mjs";
import { startPwnedFixture } from "./lib/pwned-fixture.mjs";
import { scenarioOf, scenarioWorld } from "./lib/scenario-users.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const TESTS = new URL("./tests/", import.meta.url).pathname;
const START_TIMEOUT_MS = 180_000;
// A whole run of every scenario: a safety net far above what a run takes.
const RUN_TIMEOUT_MS = 900_000;
// Scenario files run side by side (each has its own tenants and users): two at a time by
// default, E2E_CONCURRENCY=N for more or fewer.
const CONCURRENCY = Number(process.env.E2E_CONCURRENCY ?? "2");
// E2E_WAIT_FOR_GO=1 (npm test, scripts/test.mjs): bring the app up, then run the scenarios only
// once a line arrives on stdin (the other steps passed); stdin closed without one: stop.
const WAIT_FOR_GO = process.env.E2E_WAIT_FOR_GO === "1";

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

// `npm run test:e2e -- sign-in` runs only the scenario files whose names contain a word given.
const only = process.argv.slice(2);
const FILES = readdirSync(TESTS)
  .filter((f) => f.endsWith(".test.mjs") && (only.length === 0 || only.some((word) => f.includes(word))))
  .sort()
  .map((f) => join(TESTS, f));

const WORLDS = FILES.map((file) => scenarioWorld(scenarioOf(file)));

/** SQL giving each scenario about to run its own tenants, users and SSO connection to the IdP at `idpIssuer`. */
async function scenarioSeed(idpIssuer) {
  const metadata = await fetchDiscovery(idpIssuer);
  const connections = await Promise.all(WORLDS.map((w) => ssoConnectionSql(w.sso, metadata)));
  return (await seedSql(WORLDS.flatMap((w) => w.tenants), WORLDS.flatMap((w) => w.users))) + connections.join("");
}

/** The local IdP of a round: the demo's client and accounts and every scenario's, for Gatehouse at `baseUrl`. */
function startScenarioIdp(baseUrl) {
  const ssos = [DEMO_SSO, ...WORLDS.map((w) => w.sso)];
  return startLocalIdp({
    clients: ssos.map((sso) => gatehouseClient({ publicOrigin: baseUrl, clientId: sso.clientId, clientSecret: sso.clientSecret })),
    accounts: ssos.flatMap((sso) => sso.accounts),
  });
}

function runTests(env) {
  const child = (tests = spawn(process.execPath, ["--test", `--test-concurrency=${CONCURRENCY}`, "--test-reporter=spec", "--test-timeout=150000", ...FILES], {
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
// E2E_REPEAT=N runs the whole suite N times, each against a freshly seeded app, and
// stops at the first failure: the way to show a scenario passes every time, not mostly.
const REPEAT = Number(process.env.E2E_REPEAT ?? "1");
for (const [name, value] of [["E2E_REPEAT", REPEAT], ["E2E_CONCURRENCY", CONCURRENCY]]) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} must be a positive whole number, not ${process.env[name]}`);
    process.exit(2);
  }
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await stopGroup(tests);
    await stopGroup(server);
    process.exit(130);
  });
}

/** Resolves on the first line on stdin; rejects if stdin ends without one. */
function goSignal() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d) => {
      text += d;
      if (text.includes("\n")) {
        process.stdin.pause();
        resolve();
      }
    });
    process.stdin.on("end", () => reject(new Error("stdin closed before the go signal")));
  });
}

/** One round: start the app on a free port with throwaway state, run every scenario, stop it. */
async function round(waitForGo) {
  const stateDir = mkdtempSync(join(tmpdir(), "gatehouse-e2e-"));
  const logFile = join(stateDir, "server.log");
  let exitCode = 1;
  let idp = null;
  let browser = null;
  let launching = null;
  const pwned = await startPwnedFixture();
  try {
    const port = await freePort();
    // The PUBLIC_ORIGIN npm start gives Gatehouse: the links it prints lead back here.
    const baseUrl = localPublicOrigin(port);
    idp = await startScenarioIdp(baseUrl);
    const seedFile = join(stateDir, "scenarios-seed.sql");
    writeFileSync(seedFile, await scenarioSeed(idp.issuer));
    const log = openSync(logFile, "a");
    console.log(`Starting Gatehouse on ${baseUrl} (state ${stateDir}, log ${logFile})`);
    const startingMs = Date.now();
    server = spawn("npm", ["start"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        GATEHOUSE_PERSIST_TO: join(stateDir, "state"),
        GATEHOUSE_QUIET: "1",
        GATEHOUSE_EXTRA_SEED: seedFile,
        GATEHOUSE_IDP_ISSUER: idp.issuer,
        // Have I Been Pwned's range API, stood in for locally (e2e/lib/pwned-fixture.mjs).
        GATEHOUSE_PWNED_PASSWORDS_API: pwned.url,
        // Every scenario's browser signs in from 127.0.0.1: the per-address limit (100 a
        // minute, one person's or one office's address) would throttle the run as a whole
        // (TOO_MANY_ATTEMPTS, scope "address"). The limiter itself is tested in workerd.
        GATEHOUSE_LOGIN_ADDRESS_LIMIT: "2000",
      },
      stdio: ["ignore", log, log],
      detached: true,
    });
    // One chromium for the round, started while the app starts: every scenario file connects to
    // it and opens contexts of its own (e2e/lib/browser.mjs), instead of starting its own.
    launching = launchShared().then((b) => (browser = b));
    await waitForUrl(`${baseUrl}${gatehousePath()}/api/health`, server, START_TIMEOUT_MS);
    await launching;
    console.log(`Gatehouse is up after ${((Date.now() - startingMs) / 1000).toFixed(1)} s.`);
    if (waitForGo) {
      const waitingMs = Date.now();
      await goSignal();
      console.log(`Waited ${((Date.now() - waitingMs) / 1000).toFixed(1)} s for the go signal.`);
    }
    console.log("Running browser scenarios.\n");
    exitCode = await runTests({ E2E_BASE_URL: baseUrl, E2E_IDP_ISSUER: idp.issuer, E2E_BROWSER_WS: browser.wsEndpoint() });
  } catch (err) {
    console.error(`\nE2E setup failed: ${err.message}`);
  } finally {
    await stopGroup(server);
    await launching?.catch(() => {});
    await browser?.close();
    await idp?.close();
    await pwned.close();
    if (exitCode === 0) rmSync(stateDir, { recursive: true, force: true });
    else {
      // CI has no shell to look around in: show the server's last words right here.
      if (existsSync(logFile)) console.error(`\n--- last lines of ${logFile} ---\n${readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")}`);
      console.error(`Kept ${stateDir} for inspection.`);
    }
  }
  return exitCode;
}

let exitCode = 1;
try {
  ensureChromium();
  for (let i = 1; i <= REPEAT; i++) {
    const startedMs = Date.now();
    if (REPEAT > 1) console.log(`\n=== E2E round ${i} of ${REPEAT} ===`);
    exitCode = await round(WAIT_FOR_GO && i === 1);
    if (REPEAT > 1) console.log(`=== round ${i}: ${exitCode === 0 ? "passed" : "FAILED"} in ${Math.round((Date.now() - startedMs) / 1000)} s ===`);
    if (exitCode !== 0) break;
  }
} catch (err) {
  console.error(`\nE2E setup failed: ${err.message}`);
}
console.log(exitCode === 0 ? `\nE2E: all scenarios passed${REPEAT > 1 ? ` in ${REPEAT} rounds` : ""}.` : "\nE2E: FAILED.");
process.exit(exitCode);
