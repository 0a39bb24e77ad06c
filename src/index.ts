import { env } from "cloudflare:workers";
import { createApp } from "./app";
import { runRetention } from "./audit/retention";
import { parseConfig } from "./config";
import type { Bindings } from "./env";
import { log, withLogScope } from "./lib/log";

// The product's way in through a service binding (Workers RPC), docs/rpc.md.
export { GatehouseService } from "./rpc/service";

// Read at startup, before any request: a bad variable stops the Worker with its name.
const config = parseConfig(env as Bindings);
const app = createApp({ basePath: config.gatehousePath });

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    // A cron run has no request: its log lines carry a fresh id of their own.
    ctx.waitUntil(withLogScope(crypto.randomUUID(), () => runRetention(env, controller.scheduledTime).then((result) => log.info("retention", { ...result }))));
  },
} satisfies ExportedHandler<Bindings>;
