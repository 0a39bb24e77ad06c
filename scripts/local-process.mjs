// Process plumbing shared by the browser tests (e2e/run.mjs) and the benchmarks
// (bench/server.mjs): a free loopback port, waiting for a URL to answer, and stopping a
// whole process group (npm → start.mjs → wrangler → workerd), even on failure.
import { createServer } from "node:net";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers 2xx; rejects if `child` exits first or `timeoutMs` passes. */
export async function waitForUrl(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early (code ${child.exitCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs / 1000}s`);
}

/**
 * SIGTERM to the child's process group (spawned with detached: true), SIGKILL after 10 s.
 * Waits for the whole group to be gone, not only the child: a process in it may be stopping
 * a group of its own on SIGTERM (e2e/run.mjs stops its app, npm start), which an early
 * SIGKILL would cut short and leave running.
 */
export async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const kill = (sig) => {
    try {
      process.kill(-child.pid, sig);
      return true;
    } catch {
      return false; // The group is gone.
    }
  };
  kill("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && kill(0)) await new Promise((r) => setTimeout(r, 100));
  // Whatever is left of the group (workerd may outlive its parent by a moment).
  kill("SIGKILL");
}
