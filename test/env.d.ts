import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../src/env";
import type { GatehouseService } from "../src/rpc/service";
import type { LocalIdp } from "./local-idp-login";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_MIGRATIONS: D1Migration[];
      /** Service binding to this Worker's GatehouseService entrypoint (vitest.config.ts). */
      GATEHOUSE: Service<GatehouseService>;
      /** The demo's gateway settings as scripts/start.mjs writes them (scripts/demo-data.mjs), JSON. */
      TEST_DEMO_GATEWAY_VARS: string;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The local OpenID Provider started for the run (test/local-idp-setup.mjs). */
    localIdp: LocalIdp;
    /** The product origin that is not a Worker, and the relay its calls to Gatehouse go through (test/plain-origin-setup.mjs). */
    plainOrigin: { originUrl: string; pythonOriginUrl: string | null; relayUrl: string; productToken: string; audience: string };
    /** A product's webhook receiver on a loopback port, and its control (test/webhook-receiver-setup.mjs). */
    webhookReceiver: { url: string; controlUrl: string };
  }
}
