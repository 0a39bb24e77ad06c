// Vitest for the bench's in-workerd parts (work counted per request, sign-in cost,
// query plans): the same Workers pool as ./vitest.config.ts; bench/*.test.ts never run
// under `npm test` (whose config includes test/** only).
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { LOCAL_AUDIT_CHECKPOINT_KEY, LOCAL_SESSION_SNAPSHOT_KEYS, LOCAL_TOTP_KEY } from "../scripts/demo-data.mjs";

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export default defineConfig({
  root: root(""),
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          // The origin of every link Gatehouse builds, required at startup: the one test/helpers.ts's requests use (ORIGIN).
          PUBLIC_ORIGIN: "https://gatehouse.test",
          // Local-only key, shared with `npm start`; deploys use `wrangler secret put`.
          TOTP_ENCRYPTION_KEY: LOCAL_TOTP_KEY,
          AUDIT_CHECKPOINT_KEY: LOCAL_AUDIT_CHECKPOINT_KEY,
          SESSION_SNAPSHOT_KEYS: LOCAL_SESSION_SNAPSHOT_KEYS,
          TEST_MIGRATIONS: await readD1Migrations(root("migrations")),
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
