// Runs the bench's vitest files inside workerd (bench/vitest.config.ts) and collects
// what they print: counted work per hot request (GET /api/me, and a product page through
// the gateway), sign-in cost, and whether the query
// plan tests passed.
import { spawn } from "node:child_process";

const TIMEOUT_MS = 300_000;

export function workerdFigures({ quick, cwd }) {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["vitest", "run", "--config", "bench/vitest.config.ts", "--reporter", "verbose", "--no-color"], {
      cwd,
      env: { ...process.env, BENCH_QUICK: quick ? "1" : "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, TIMEOUT_MS);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const figures = {};
      for (const m of out.matchAll(/^BENCH_RESULT (.+)$/gm)) {
        const { name, value } = JSON.parse(m[1]);
        figures[name] = value;
      }
      if (!figures.hotMe || !figures.hotProduct || !figures.signIn) return reject(new Error(`bench vitest printed no figures (exit ${code}):\n${out.slice(-3000)}`));
      // Verbose reporter lines: "✓ test/query-plans.test.ts > … > name" (or ×/✗ when failed).
      const planLines = out.split("\n").filter((l) => /^\s*[✓×✗]\s+test\/query-plans\.test\.ts >/.test(l));
      const plans = {
        passed: planLines.filter((l) => /✓/.test(l)).length,
        total: planLines.length,
        failures: planLines.filter((l) => !/✓/.test(l)).map((l) => l.trim()),
      };
      resolve({ ...figures, plans, exitCode: code });
    });
  });
}
