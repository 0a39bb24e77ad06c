import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";
import { gatehousePath } from "../scripts/gatehouse-path.mjs";
import { sizeReport } from "./build/size-report.ts";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Served under GATEHOUSE_PATH (src/panel/serve.ts): assets and the router use this base.
  base: `${gatehousePath()}/`,
  // Relative to `root`: wrangler.toml serves dist/panel as the worker's static assets.
  publicDir: "public",
  plugins: [preact(), sizeReport({ budgetKb: 32 })],
  build: {
    outDir: fileURLToPath(new URL("../dist/panel", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // One small bundle (and on-demand chunks only for what few pages use): a strict CSP and a 32 KB budget both favour it.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
