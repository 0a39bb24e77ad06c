// Vitest for the bench's in-workerd parts (work counted per request, sign-in cost,
// query plans): the same Workers pool as ./vitest.config.ts; bench/*.test.ts never run
// under `npm test` (whose config includes test/** only).
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { workerdTestBindings } from "../scripts/workerd-test-bindings.mjs";

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export default defineConfig({
  root: root(""),
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          // The same as npm test's (PUBLIC_ORIGIN, the local keys, the migrations).
          ...(await workerdTestBindings()),
          // `npm run bench -- --quick`: fewer timed runs.
          BENCH_QUICK: process.env.BENCH_QUICK ?? "0",
        },
      },
    })),
  ],
  test: {
    // The query-plan tests live with the suite (npm test) and are reported here too.
    include: ["bench/**/*.test.ts", "test/query-plans.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
  },
});
