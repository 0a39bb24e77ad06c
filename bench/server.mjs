// Starts Gatehouse the way the README does (`npm start`: local workerd, D1 and KV) on a
// free loopback port with throwaway state and request logging off, and stops the whole
// process group it started (npm → start.mjs → wrangler → workerd), even on failure.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const START_TIMEOUT_MS = 180_000;
const running = new Set();

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, child, logFile) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited early (code ${child.exitCode}):\n${tail(logFile)}`);
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no /api/health answer within ${START_TIMEOUT_MS / 1000}s:\n${tail(logFile)}`);
}

const tail = (file) => readFileSync(file, "utf8").split("\n").slice(-30).join("\n");

/** `npm start` on state already seeded in `persistTo`; resolves once /api/health answers. */
export async function startServer(persistTo) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(persistTo, "server.log");
  const log = openSync(logFile, "a");
  const child = spawn("npm", ["start"], {
    env: {
      ...process.env,
      PORT: String(port),
      GATEHOUSE_PERSIST_TO: persistTo,
      GATEHOUSE_QUIET: "1",
      GATEHOUSE_SKIP_UI_BUILD: "1", // run.mjs builds the panel once, up front
      WRANGLER_SEND_METRICS: "false",
    },
    stdio: ["ignore", log, log],
    detached: true, // its own process group, so stop() reaches workerd too
  });
  running.add(child);
  const server = { url, stop: () => stop(child) };
  try {
    await waitForHealth(url, child, logFile);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function stop(child) {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  const kill = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive its parent by a moment; make sure the group is gone.
  kill("SIGKILL");
}

/** Stops every server still running (for signal handlers and fatal errors). */
export const stopAll = () => Promise.all([...running].map(stop));
