import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { runRetention } from "./audit/retention";
import { parseConfig } from "./config";
import type { Bindings } from "./env";

// The product's way in through a service binding (Workers RPC), docs/rpc.md.
export { GatehouseService } from "./rpc/service";

// Read at startup, before any request: a bad variable stops the Worker with its name.
const config = parseConfig(env as Bindings);
const app = createApp({ basePath: config.gatehousePath });

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(
      runRetention(env, controller.scheduledTime).then((result) => console.log(JSON.stringify({ level: "info", msg: "retention", ...result }))),
    );
  },
} satisfies ExportedHandler<Bindings>;
