// Where Gatehouse's own surface (API, panel, JWKS) lives on the host, for the tools that
// run beside the worker: the panel build, `npm start`, the browser tests, the bench.
// One source: GATEHOUSE_PATH in the environment if set, else wrangler.toml's [vars].
// The worker validates the same variable itself (src/config.ts).
import { readFileSync } from "node:fs";

const WRANGLER_TOML = new URL("../wrangler.toml", import.meta.url);

export function gatehousePath() {
  const fromToml = /^GATEHOUSE_PATH\s*=\s*"([^"]*)"/m.exec(readFileSync(WRANGLER_TOML, "utf8"))?.[1];
  const path = process.env.GATEHOUSE_PATH || fromToml || "/_gatehouse";
  if (!/^(\/[a-z0-9_-]+)+$/.test(path)) throw new Error(`GATEHOUSE_PATH must look like /_gatehouse, not ${JSON.stringify(path)}`);
  return path;
}
