import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { kCurrentWorker } from "miniflare";
import { defineConfig } from "vitest/config";
import { DEMO_GATEWAY_VARS, LOCAL_AUDIT_CHECKPOINT_KEY, LOCAL_SESSION_SNAPSHOT_KEYS, LOCAL_TOTP_KEY } from "./scripts/demo-data.mjs";

// wrangler.toml points [assets] at the built panel; the API tests do not need
// it built, but wrangler refuses a missing directory.
mkdirSync(fileURLToPath(new URL("./dist/panel", import.meta.url)), { recursive: true });

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          // The origin of every link Gatehouse builds: the one test/helpers.ts's requests use (ORIGIN).
          PUBLIC_ORIGIN: "https://gatehouse.test",
          // Local-only key, shared with `npm start`; deploys use `wrangler secret put`.
          TOTP_ENCRYPTION_KEY: LOCAL_TOTP_KEY,
          AUDIT_CHECKPOINT_KEY: LOCAL_AUDIT_CHECKPOINT_KEY,
          SESSION_SNAPSHOT_KEYS: LOCAL_SESSION_SNAPSHOT_KEYS,
          // The demo's gateway settings (npm start), checked against Gatehouse's parser.
          TEST_DEMO_GATEWAY_VARS: JSON.stringify(DEMO_GATEWAY_VARS),
          TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
          // The product's step-up purposes, as a product behind Gatehouse configures them.
          PRODUCT_STEP_UP_PURPOSES: JSON.stringify([
            { name: "NOTE_DELETE", label: "delete a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false },
            { name: "BILLING_EXPORT", label: "export billing data", windowSeconds: 600, singleUse: false, secondFactorOnly: true },
            { name: "NOTE_RESTORE", label: "restore a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: true },
          ]),
        },
        // The optional audit archive (src/audit/archive.ts), in local R2.
        r2Buckets: ["AUDIT_ARCHIVE"],
        // A real service binding to this Worker's GatehouseService entrypoint (Workers RPC),
        // as a product Worker declares it: the RPC tests call through it.
        serviceBindings: { GATEHOUSE: { name: kCurrentWorker, entrypoint: "GatehouseService" } },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
  },
});
