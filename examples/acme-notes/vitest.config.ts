/**
 * Acme Notes' own tests, inside workerd:
 *   npx vitest run --config examples/acme-notes/vitest.config.ts
 * The GATEHOUSE service binding is a stub serving the JWKS of a key generated here; the
 * tests get the private half as TEST_PRIVATE_JWK to sign assertions the way Gatehouse does.
 * GATEHOUSE_RPC is bound to an auxiliary worker that is a STAND-IN for Gatehouse's
 * GatehouseService entrypoint (it keeps what it is given and answers like recordAuditEvent),
 * so the product's events cross a real RPC boundary; Gatehouse's own entrypoint is tested in
 * the root test/rpc-*.test.ts.
 */
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";

const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const kid = "test-key";
const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }] };

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { TEST_PRIVATE_JWK: JSON.stringify(privateJwk) },
        workers: [
          {
            name: "gatehouse-rpc-stand-in",
            modules: true,
            compatibilityDate: "2026-10-15",
            script: `import { WorkerEntrypoint } from "cloudflare:workers";
const events = [];
export class GatehouseService extends WorkerEntrypoint {
  async recordAuditEvent(input) { events.push(input); return { ok: true, id: "aud_stand_in_" + events.length, seq: events.length, hash: "stand-in" }; }
  async recorded() { return events; }
}
export default { fetch() { return new Response("stand-in", { status: 404 }); } };`,
          },
        ],
        serviceBindings: {
          GATEHOUSE_RPC: { name: "gatehouse-rpc-stand-in", entrypoint: "GatehouseService" },
          GATEHOUSE: (request: Request) =>
            new URL(request.url).pathname === "/_gatehouse/.well-known/jwks.json"
              ? Response.json(jwks)
              : new Response("not found", { status: 404 }),
        },
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"] },
});
