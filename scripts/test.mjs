// `npm test`: every check, the vitest run and the browser scenarios, side by side where they
// share nothing, so that both cores stay busy from start to end. Each step is a package.json
// script, run with `sh -c` as npm would (without npm's start-up), or for vitest its command,
// and names the steps it starts after.
//
// The browser scenarios start in two parts: the app they run against (IdP, migrations, seed,
// wrangler dev, the run's chromium: e2e/run.mjs) is brought up beside vitest, and the
// scenarios themselves run once every check has passed (the step's `go`: a line on its stdin,
// E2E_WAIT_FOR_GO), beside the rest of vitest: the two share the cores to the end instead of
// the scenarios waiting for vitest's last file, and a failed check still stops the run before
// any browser opens.
//
// vitest prints as it goes; every other step has its output held and printed whole, with
// its name and time, when it ends (the browser scenarios: from their go on, as they go, once
// vitest has ended).
// The first failure stops the steps still running and skips the rest; the summary at the
// end names each step's outcome and time. Exits non-zero on any failure.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stopGroup } from "./local-process.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
const SCRIPTS = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).scripts;

// build:product type-checks the product package (packages/product) as it builds it.
const TYPECHECKS = ["typecheck", "typecheck:ui", "typecheck:example", "build:product"];
const CHECKS = ["check:paths", ...TYPECHECKS, "check:types", "check:deploy", "check:cache-rebuild"];
/**
 * Each step: a package.json script (or a command), the steps it starts after, and, for the
 * browser scenarios, the steps whose passing is its go (see the header). `live`: the output
 * is printed as it comes instead of held.
 */
const STEPS = [
  // From the start, side by side: the panel, built once (the binding types check, the deploy
  // dry run, vitest's assets directory and the browser tests' `npm start` reuse it:
  // GATEHOUSE_SKIP_UI_BUILD, scripts/build-ui.mjs); the paths check; tsc over the worker and
  // its tests, the panel and the demo product (the three projects `npm run typecheck:all`
  // checks in one process, here one process each, so the longest sets the time); and the
  // cache rebuild against a throwaway local D1 and KV. None of the others needs the panel.
  { name: "build:ui", after: [] },
  { name: "check:paths", after: [] },
  ...TYPECHECKS.map((name) => ({ name, after: [] })),
  { name: "check:cache-rebuild", after: [] },
  // wrangler checks the panel before `types` and `deploy` (wrangler.toml's [build]).
  { name: "check:types", after: ["build:ui"] },
  { name: "check:deploy", after: ["build:ui"] },
  // Beside the checks: it needs none of them, only the panel in place (wrangler.toml's
  // [assets] directory, read when vitest starts its workerd, is what vite empties and fills).
  { name: "vitest", command: "vitest run", after: ["build:ui"], live: true },
  // The app comes up beside vitest; the scenarios go once every check has passed, beside vitest.
  { name: "test:e2e", after: ["build:ui"], go: CHECKS },
];
const env = {
  ...process.env,
  GATEHOUSE_SKIP_UI_BUILD: "1",
  PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`,
  // Node keeps the code it compiled on disk: every wrangler after the first starts faster
  // (about half a second of CPU each; wrangler runs a dozen times here).
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), "node-compile-cache"),
};
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const started = Date.now();
/** name → { status: "running" | "passed" | "failed" | "stopped", ms, t0, child } */
const outcomes = new Map();

function runStep(step, alone) {
  const script = step.command ?? SCRIPTS[step.name];
  if (!script) throw new Error(`package.json has no script ${step.name}`);
  const live = alone || step.live;
  const stdin = step.go ? "pipe" : "ignore";
  // e2e/run.mjs: bring the app up, then wait for the go line on stdin before the scenarios.
  const stepEnv = step.go ? { ...env, E2E_WAIT_FOR_GO: "1" } : env;
  const child = spawn("sh", ["-c", script], { cwd: ROOT, env: stepEnv, detached: true, stdio: [stdin, live ? "inherit" : "pipe", live ? "inherit" : "pipe"] });
  const outcome = { status: "running", ms: 0, t0: Date.now(), child, goes: null, stream: null };
  outcomes.set(step.name, outcome);
  // Both streams into one buffer, in the order they were written; once the step goes and no
  // other step prints as it goes (vitest), as they come.
  let held = "";
  let streaming = false;
  const take = (d) => (streaming ? process.stdout.write(d) : (held += d));
  child.stdout?.setEncoding("utf8").on("data", take);
  child.stderr?.setEncoding("utf8").on("data", take);
  if (live) console.log(`\n=== ${step.name}: ${script}${alone ? "" : " (beside what runs)"}\n`);
  if (step.go) {
    // Its stdin stays open until the go (or until the step is stopped).
    child.stdin.on("error", () => {});
    outcome.goes = () => {
      const after = liveStepRunning() ? "; its output follows when vitest's ends" : "";
      console.log(`\n=== ${step.name}: ${script} (going: ${step.go.length} steps passed${after})`);
      child.stdin.end("go\n");
      outcome.stream = () => {
        if (streaming || liveStepRunning()) return;
        console.log(`\n=== ${step.name}: ${script} (went after ${step.go.length} steps passed)\n${held.trimEnd()}`);
        held = "";
        streaming = true;
      };
      outcome.stream();
    };
  }
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      if (outcome.status === "stopped") return resolve(outcome);
      outcome.ms = Date.now() - outcome.t0;
      outcome.status = code === 0 ? "passed" : "failed";
      const verdict = `${outcome.status === "passed" ? "passed" : `FAILED (${signal ?? `exit ${code}`})`} in ${seconds(outcome.ms)}`;
      if (live || streaming) console.log(`\n=== ${step.name}: ${verdict}`);
      else console.log(`\n=== ${step.name}: ${script}\n${held.trimEnd()}\n=== ${step.name}: ${verdict}`);
      resolve(outcome);
    });
  });
}

/** Whether a step that prints as it goes (vitest) is running. */
function liveStepRunning() {
  return STEPS.some((s) => s.live && outcomes.get(s.name)?.status === "running");
}

async function stopRunning() {
  const running = [...outcomes.values()].filter((o) => o.status === "running");
  for (const o of running) Object.assign(o, { status: "stopped", ms: Date.now() - o.t0 });
  await Promise.all(running.map((o) => stopGroup(o.child)));
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await stopRunning();
    process.exit(130);
  });
}

/** Starts every step whose predecessors passed; resolves on the first failure or when all passed. */
function runAll() {
  let failed = false;
  return new Promise((resolve) => {
    const launch = () => {
      if (failed) return;
      const passed = (name) => outcomes.get(name)?.status === "passed";
      const ready = STEPS.filter((s) => !outcomes.has(s.name) && s.after.every(passed));
      const running = [...outcomes.values()].filter((o) => o.status === "running").length;
      if (ready.length === 0 && running === 0) return resolve(true);
      const alone = ready.length === 1 && running === 0 && !ready[0].go;
      if (ready.length > 0 && !alone) console.log(`\n--- started ${ready.map((s) => s.name).join(", ")} (beside what runs)`);
      for (const step of ready) {
        runStep(step, alone).then((outcome) => {
          if (outcome.status === "failed" && !failed) {
            failed = true;
            resolve(false);
          } else if (outcome.status === "passed") launch();
        });
      }
      for (const step of STEPS) {
        const o = outcomes.get(step.name);
        if (step.go && o?.status === "running" && o.goes && step.go.every(passed)) {
          o.goes();
          o.goes = null;
        }
        // A step that went while vitest printed: its output, now that vitest's has ended.
        if (o?.status === "running") o.stream?.();
      }
    };
    launch();
  });
}

const passed = await runAll();
if (!passed) await stopRunning();
const total = Date.now() - started;
const width = Math.max(...STEPS.map((s) => s.name.length));
const lines = STEPS.map((s) => {
  const o = outcomes.get(s.name);
  const what = !o ? "not run" : o.status === "stopped" ? `stopped after ${seconds(o.ms)}` : `${o.status} in ${seconds(o.ms)}`;
  return `  ${s.name.padEnd(width)}  ${what}`;
});
console.log(`\nnpm test: ${passed ? "passed" : "FAILED"} in ${seconds(total)}\n${lines.join("\n")}`);
process.exit(passed ? 0 : 1);
