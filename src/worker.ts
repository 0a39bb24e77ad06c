/**
 * The Worker's handlers, built from the configuration read at startup (src/index.ts).
 * Every var and secret is validated there once by parseConfig: a bad one is a clear
 * ConfigError, logged with the variable's name (never a secret's value), and every
 * request then answers 503 CONFIG_INVALID (load balancers see the deployment as down)
 * instead of failing at some later point. The scheduled handler validates the env it is
 * given the same way and refuses to run, logging the problem, rather than throw.
 */
import { createApp } from "./app";
import { anchorTenants } from "./audit/anchor-sweep";
import { drainPendingOutboxes } from "./audit/drain-sweep";
import { runRetention } from "./audit/retention";
import { consumeAuditStream, requestActiveStreamDeliveries } from "./audit-stream/queue";
import { ConfigError, parseConfig } from "./config";
import type { Bindings } from "./env";
import { errorBody } from "./errors";
import { runKeyRotation } from "./key-rotation";
import { errorFields, log, withLogScope } from "./lib/log";
import { setOwnAnswerHeaders } from "./lib/own-answer-headers";
import { consumeWebhookQueue, sendOwedPokes } from "./webhooks/queue";

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
      const refused = Response.json(errorBody("CONFIG_INVALID", "This deployment's configuration is invalid; the operator has been told"), { status: 503 });
      setOwnAnswerHeaders(refused.headers);
      return refused;
    },
    async scheduled(controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
      // A cron run has no request: its log lines carry a fresh id of their own.
      await withLogScope(crypto.randomUUID(), async () => {
        if (configProblem(env, "scheduled run refused: configuration invalid") !== null) return;
        // A job that throws (a D1 error) is logged like any unexpected error, never left as
        // an unhandled rejection of waitUntil; the next run starts again from its cursor.
        const logged = (msg: string, job: Promise<object>) =>
          job.then(
            (result) => log.info(msg, { ...result }),
            (err: unknown) => log.error(`${msg} failed`, errorFields(err)),
          );
        ctx.waitUntil(logged("audit outbox", drainPendingOutboxes(env)));
        ctx.waitUntil(logged("retention", runRetention(env, controller.scheduledTime)));
        ctx.waitUntil(logged("audit anchors", anchorTenants(env, controller.scheduledTime)));
        ctx.waitUntil(logged("key rotation", runKeyRotation(env, controller.scheduledTime)));
        ctx.waitUntil(logged("audit stream", requestActiveStreamDeliveries(env)));
        ctx.waitUntil(logged("webhook requests owed", sendOwedPokes(env)));
      });
    },
    // One consumer function per queue, each in its own folder, dispatched by the queue's name.
    async queue(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
      await withLogScope(crypto.randomUUID(), async () => {
        if (configProblem(env, "queue batch refused: configuration invalid") !== null) return batch.retryAll();
        if (batch.queue.startsWith("gatehouse-audit-stream")) return consumeAuditStream(batch, env, Date.now());
        if (await consumeWebhookQueue(batch, env)) return;
        log.error("queue batch for an unknown queue; retried", { queue: batch.queue });
        batch.retryAll();
      });
    },
  } satisfies ExportedHandler<Bindings>;
}
