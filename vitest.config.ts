import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { kCurrentWorker } from "miniflare";
import { defineConfig } from "vitest/config";
import { DEMO_GATEWAY_VARS } from "./scripts/demo-data.mjs";
import { workerdTestBindings } from "./scripts/workerd-test-bindings.mjs";

// wrangler.toml points [assets] at the built panel; the API tests do not need
// it built, but wrangler refuses a missing directory.
mkdirSync(fileURLToPath(new URL("./dist/panel", import.meta.url)), { recursive: true });

/**
 * Pure unit tests: they import no binding, no `cloudflare:*` module and no harness, so they
 * run in plain Node (the "unit" project) instead of paying for a workerd and its migrations
 * per file. A test that needs workerd belongs in a file that is not listed here.
 */
const UNIT_TESTS = [
  "test/conformance.test.ts",
  "test/cookies.test.ts",
  "test/crypto-base64.test.ts",
  "test/edge-writer.test.ts",
  "test/gateway-public-paths.test.ts",
  "test/gateway-return-to.test.ts",
  "test/keys-command.test.ts",
  "test/ip-rules-cidr.test.ts",
  "test/openapi-document.test.ts",
  "test/password-policy.test.ts",
  "test/totp-rfc6238.test.ts",
  // The panel's state, with the few browser globals it reads stubbed (typed by ui/tsconfig.json).
  "ui/test/session-loss.test.ts",
];

export default defineConfig({
  test: {
    // Two test files at a time (vitest's default on two cores is one).
    maxWorkers: 2,
    projects: [
      // The demo product's own tests (`npm run test:example` runs them alone).
      "examples/acme-notes/vitest.config.ts",
      {
        test: {
          name: "unit",
          environment: "node",
          include: UNIT_TESTS,
          // Nothing shared to leak between them: one Node worker runs several files.
          isolate: false,
          // Uint8Array's base64 methods (src/lib/crypto.ts), built into workerd, are behind a flag in Node 24.
          execArgv: ["--js-base-64"],
          // npm test runs vitest beside the type checks: a property test (fast-check) sharing
          // the cores may outlast vitest's default 5 s without anything being wrong.
          testTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ...(await workerdTestBindings()),
                // The demo's gateway settings (npm start), checked against Gatehouse's parser.
                TEST_DEMO_GATEWAY_VARS: JSON.stringify(DEMO_GATEWAY_VARS),
                // The product's step-up purposes, as a product behind Gatehouse configures them.
                PRODUCT_STEP_UP_PURPOSES: JSON.stringify([
                  { name: "NOTE_DELETE", label: "delete a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false },
                  { name: "BILLING_EXPORT", label: "export billing data", windowSeconds: 600, singleUse: false, secondFactorOnly: true },
                  { name: "NOTE_RESTORE", label: "restore a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: true },
                ]),
              },
              // The optional audit archive (src/audit/archive.ts), in local R2.
              r2Buckets: ["AUDIT_ARCHIVE"],
              // The audit stream's queue, with no consumer in the tests: a test delivers by calling
              // the tenant's object or the queue handler itself, at its own clock (test/audit-stream-*.test.ts).
              queueProducers: { AUDIT_STREAM_QUEUE: { queueName: "gatehouse-audit-stream-tests" } },
              // A real service binding to this Worker's GatehouseService entrypoint (Workers RPC),
              // as a product Worker declares it: the RPC tests call through it.
              serviceBindings: { GATEHOUSE: { name: kCurrentWorker, entrypoint: "GatehouseService" } },
            },
          })),
        ],
        // As wrangler.toml's [alias] bundles them: the tests run what deploys (src/passkeys/no-certificates.ts, src/openapi/no-vendor-converters.ts).
        resolve: {
          alias: {
            "@peculiar/x509": fileURLToPath(new URL("./src/passkeys/no-certificates.ts", import.meta.url)),
            "reflect-metadata": fileURLToPath(new URL("./src/passkeys/no-certificates.ts", import.meta.url)),
            "@standard-community/standard-json": fileURLToPath(new URL("./src/openapi/no-vendor-converters.ts", import.meta.url)),
            "@standard-community/standard-openapi": fileURLToPath(new URL("./src/openapi/no-vendor-converters.ts", import.meta.url)),
          },
        },
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: UNIT_TESTS,
          // One workerd per vitest worker for all its files, not one per file (restarting it
          // and re-applying the migrations cost ~3 s a file); the setup file gives each file
          // modules evaluated afresh and empty storage of its own, and every spy is restored
          // before each test.
          isolate: false,
          restoreMocks: true,
          // Two files run side by side on two cores: a CPU-heavy test (60 PBKDF2 sign-ins at
          // once) may outlast vitest's default 5 s without anything being wrong.
          testTimeout: 30_000,
          setupFiles: ["./test/apply-migrations.ts"],
          // A local OpenID Provider for the run (scripts/idp.mjs): `inject("localIdp")`.
          // A product origin that is not a Worker (test/plain-origin.mjs): `inject("plainOrigin")`.
          // A product's webhook receiver on a loopback port, stopped and started by a test: `inject("webhookReceiver")`.
          globalSetup: ["./test/local-idp-setup.mjs", "./test/plain-origin-setup.mjs", "./test/webhook-receiver-setup.mjs"],
        },
      },
    ],
  },
});
