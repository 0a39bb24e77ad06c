import { createApp } from "./app";
import { runRetention } from "./audit/retention";
import type { Bindings } from "./env";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(
      runRetention(env, controller.scheduledTime).then((result) => console.log(JSON.stringify({ level: "info", msg: "retention", ...result }))),
    );
  },
} satisfies ExportedHandler<Bindings>;
