/**
 * The Worker's handlers, built from the configuration read at startup (src/index.ts).
 * Every var and secret is validated there once by parseConfig: a bad one is a clear
 * ConfigError, logged with the variable's name (never a secret's value), and every
 * request then answers 503 CONFIG_INVALID (load balancers see the deployment as down)
 * instead of failing at some later point. The scheduled handler validates the env it is
 * given the same way and refuses to run, logging the problem, rather than throw.
 */
import { createApp } from "./app";
import { runRetention } from "./audit/retention";
import { ConfigError, parseConfig } from "./config";
import type { Bindings } from "./env";
import { errorBody } from "./errors";
import { runKeyRotation } from "./key-rotation";
import { log, withLogScope } from "./lib/log";

/** The configuration problem, or null when `env` parses (logged as `msg`). */
function configProblem(env: Bindings, msg: string): string | null {
  try {
    parseConfig(env);
    return null;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error(msg, { problem: err.message });
    return err.message;
  }
}

export function createWorker(startupEnv: Bindings) {
  const problem = configProblem(startupEnv, "configuration invalid at startup");
  const app = problem === null ? createApp({ basePath: parseConfig(startupEnv).gatehousePath }) : null;
  return {
    fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
      if (app) return app.fetch(request, env, ctx);
      withLogScope(crypto.randomUUID(), () => log.error("request refused: configuration invalid", { problem }));
      return Response.json(errorBody("CONFIG_INVALID", "This deployment's configuration is invalid; the operator has been told"), {
        status: 503,
        headers: { "cache-control": "no-store" },
      });
    },
    async scheduled(controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
      // A cron run has no request: its log lines carry a fresh id of their own.
      await withLogScope(crypto.randomUUID(), async () => {
        if (configProblem(env, "scheduled run refused: configuration invalid") !== null) return;
        const logged = (msg: string) => (result: object) => log.info(msg, { ...result });
        ctx.waitUntil(runRetention(env, controller.scheduledTime).then(logged("retention")));
        ctx.waitUntil(runKeyRotation(env).then(logged("key rotation")));
      });
    },
  } satisfies ExportedHandler<Bindings>;
}
