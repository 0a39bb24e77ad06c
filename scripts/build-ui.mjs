// Builds the security panel (`npm run build:ui`), or reuses the build this run already made
// when GATEHOUSE_SKIP_UI_BUILD=1: `npm test` builds it once up front and the steps after it
// (the binding types check, the deploy dry run, the browser tests' `npm start`) reuse it,
// as the bench does. A real deploy always builds (scripts/deploy.mjs).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export function buildPanel() {
  if (process.env.GATEHOUSE_SKIP_UI_BUILD === "1") return;
  const res = spawnSync("npm", ["run", "build:ui", "--silent"], { stdio: "inherit" });
  if (res.status !== 0) {
    console.error(`\nnpm run build:ui failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildPanel();
