import { env } from "cloudflare:workers";
import type { Bindings } from "./env";
import { createWorker } from "./worker";

// The product's way in through a service binding (Workers RPC), docs/rpc.md.
export { GatehouseService } from "./rpc/service";

// One per tenant: the serial writer of its edge document (src/tenant-object/object.ts).
export { TenantObject } from "./tenant-object/object";

// Built at startup, before any request: the configuration is validated here (src/worker.ts).
export default createWorker(env as Bindings);
