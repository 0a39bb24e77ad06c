import { env } from "cloudflare:workers";
import type { Bindings } from "./env";
import { createWorker } from "./worker";

// The product's way in through a service binding (Workers RPC), docs/rpc.md.
export { GatehouseService } from "./rpc/service";

// Built at startup, before any request: the configuration is validated here (src/worker.ts).
export default createWorker(env as Bindings);
