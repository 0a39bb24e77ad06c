// The panel a deploy ships: dist/panel must hold index.html and every script and
// stylesheet it loads, with at least one JavaScript module. A deploy without them would
// serve a blank page under the Gatehouse path (sign-in included).
//
// Run by scripts/deploy.mjs after `npm run build:ui`, and as wrangler.toml's [build]
// command, so that a bare `wrangler deploy` (or `wrangler dev`) stops on an empty panel
// instead of shipping it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gatehousePath } from "./gatehouse-path.mjs";

export const PANEL_DIR = fileURLToPath(new URL("../dist/panel", import.meta.url));

/** What is wrong with the built panel in `dir`; an empty list when it can ship. */
export function panelProblems(dir = PANEL_DIR, base = gatehousePath()) {
  const indexFile = join(dir, "index.html");
  if (!existsSync(indexFile)) return [`${indexFile} is missing: the panel was not built (npm run build:ui)`];
  const html = readFileSync(indexFile, "utf8");
  // Vite writes absolute URLs under its `base` (the Gatehouse path): /_gatehouse/assets/x.js
  const refs = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((url) => url.startsWith(`${base}/assets/`));
  const problems = [];
  if (!refs.some((url) => url.endsWith(".js"))) problems.push(`${indexFile} loads no JavaScript from ${base}/assets/ (a panel built for another GATEHOUSE_PATH?)`);
  for (const url of refs) {
    const file = join(dir, url.slice(base.length + 1));
    if (!existsSync(file) || statSync(file).size === 0) problems.push(`${indexFile} loads ${url}, but ${file} is missing or empty`);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = panelProblems();
  if (problems.length > 0) {
    console.error(`The security panel is not ready to ship:\n  ${problems.join("\n  ")}\nBuild it with \`npm run build:ui\`, or deploy with \`npm run deploy\` (which builds it).`);
    process.exit(1);
  }
}
